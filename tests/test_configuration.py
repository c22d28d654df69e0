"""O1/E5/A1: unsafe configuration refuses to start; the code base stays lint-clean."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth.hashers import get_hasher

from tests.processes import BIN, ROOT

SAFE_SECRET = "x" * 64
# A production configuration that passes every start-up check.
SAFE_PRODUCTION = {
    "PALISADE_ENV": "production",
    "DEBUG": "false",
    "SECRET_KEY": SAFE_SECRET,
    "PALISADE_MASTER_KEY": "cHJvZC10ZXN0LW1hc3Rlci1rZXktMzItYnl0ZXMhISE=",
    "PALISADE_AUDIT_SIGNING_KEY": "cHJvZC10ZXN0LWF1ZGl0LXNpZ25pbmcta2V5LTMyISE=",
    "EMAIL_URL": "smtp+tls://mailer:secret@mail.example:587",
}


def _start_django(**overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **SAFE_PRODUCTION, **overrides}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": SAFE_SECRET, "DEBUG": "true"}, "DEBUG must be off"),
        ({"SECRET_KEY": "dev-only-insecure-secret-key-never-use-in-production"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": SAFE_SECRET, "PALISADE_ENV": "staging"}, "PALISADE_ENV"),
        (
            {
                "SECRET_KEY": SAFE_SECRET,
                "PALISADE_MASTER_KEY": "ZGV2LW9ubHktbWFzdGVyLWtleS1ub3Qtc2VjcmV0ISE=",
            },
            "PALISADE_MASTER_KEY",
        ),
        (
            {
                "SECRET_KEY": SAFE_SECRET,
                "PALISADE_AUDIT_SIGNING_KEY": "ZGV2LW9ubHktYXVkaXQtc2lnbmluZy1rZXktcHVibGk=",
            },
            "PALISADE_AUDIT_SIGNING_KEY",
        ),
        ({"SECRET_KEY": SAFE_SECRET, "PALISADE_MASTER_KEY": "not base64!"}, "base64"),
        ({"SECRET_KEY": SAFE_SECRET, "EMAIL_URL": "consolemail://"}, "EMAIL_URL"),
        # E3, E6: people's data keys need the platform KMS key.
        ({"SECRET_KEY": SAFE_SECRET, "PALISADE_KEY_PROVIDER": "aws-kms"}, "KMS_PLATFORM_KEY_ID"),
    ],
)
def test_O1_production_profile_refuses_unsafe_settings(overrides, message):
    result = _start_django(**overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_O1_production_profile_starts_with_safe_settings():
    result = _start_django(SECRET_KEY=SAFE_SECRET)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_O2_demo_data_is_refused_in_production():
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        env={**os.environ, **SAFE_PRODUCTION},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "never loaded in production" in result.stderr


def test_A1_passwords_use_argon2id_with_owasp_parameters():
    hasher = get_hasher()
    encoded = hasher.encode("a long enough password", hasher.salt())
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."]],
    ids=["ruff-check", "ruff-format"],
)
def test_code_base_is_lint_clean(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
