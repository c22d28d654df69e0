"""E5: key rotation without downtime. New writes use the new data-key version at once, old
values stay readable, ``rotate_keys --reencrypt`` moves every value to the newest version in
batches, and ``--rewrap`` moves KEKs to a new master key."""

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from keys.keyring import forget_cached_keys
from keys.models import IntegrationSecret
from keys.providers import KeyOwner, KeyUnavailable, LocalEnvelopeProvider
from keys.services import data_key_rotate, integration_secret_set
from tenants.context import tenant_context
from tests.keys.conftest import new_master_key
from tests.processes import ROOT

pytestmark = pytest.mark.django_db


def _versions() -> dict[str, int]:
    return dict(IntegrationSecret.objects.values_list("name", "secret__key_version"))


def _plaintexts() -> dict[str, str]:
    return {secret.name: secret.secret for secret in IntegrationSecret.objects.all()}


def _rotate_keys(*arguments: str) -> str:
    out = StringIO()
    call_command("rotate_keys", *arguments, stdout=out)
    return out.getvalue()


def test_E5_new_writes_use_the_new_version_and_old_values_stay_readable(org_a):
    with tenant_context(org_a):
        for i in range(3):
            integration_secret_set(name=f"old-{i}", secret=f"old secret {i}")
        assert data_key_rotate().version == 2
        integration_secret_set(name="new", secret="new secret")
        integration_secret_set(name="old-0", secret="replaced secret")  # lazy re-encryption

        assert _versions() == {"old-0": 2, "old-1": 1, "old-2": 1, "new": 2}
        assert _plaintexts() == {
            "old-0": "replaced secret",
            "old-1": "old secret 1",
            "old-2": "old secret 2",
            "new": "new secret",
        }


def test_E5_rotate_keys_reencrypt_leaves_every_value_at_the_newest_version(org_a, org_b):
    with tenant_context(org_a):
        for i in range(5):
            integration_secret_set(name=f"a-{i}", secret=f"alpha secret {i}")
        data_key_rotate()
        for i in range(5, 7):
            integration_secret_set(name=f"a-{i}", secret=f"alpha secret {i}")
        expected = _plaintexts()
    with tenant_context(org_b):
        integration_secret_set(name="b", secret="bravo secret")

    output = _rotate_keys("--org", "alpha", "--reencrypt", "--batch-size", "2")

    assert "alpha: data key v3, 7 values re-encrypted in 4 batches" in output
    with tenant_context(org_a):
        assert set(_versions().values()) == {3}
        assert _plaintexts() == expected
    with tenant_context(org_b):
        assert _versions() == {"b": 1}


def test_E5_reencryption_leaves_unreadable_values_as_they_are_and_counts_them(org_a):
    with tenant_context(org_a):
        integration_secret_set(name="good", secret="good secret")
        broken = integration_secret_set(name="broken", secret="broken secret")
        IntegrationSecret.objects.filter(pk=broken.pk).update(
            secret=IntegrationSecret.objects.filter(name="good").values("secret")
        )

    output = _rotate_keys("--org", "alpha", "--reencrypt")

    assert "1 values re-encrypted in 1 batches" in output
    assert "1 unreadable values left as they are" in output
    with tenant_context(org_a):
        assert _versions() == {"good": 2, "broken": 1}
        assert _plaintexts()["good"] == "good secret"


def test_E5_local_provider_rewraps_keks_under_the_new_master_key():
    old_master, new_master = new_master_key(), new_master_key()
    owner = KeyOwner(organization_id=7, short_id="abcdefgh")
    before_rotation = LocalEnvelopeProvider([old_master])
    kek = before_rotation.create_kek(owner)
    data_key = before_rotation.new_data_key(owner, kek, version=1)

    # PALISADE_MASTER_KEY=new, PALISADE_MASTER_KEY_PREVIOUS=old
    during_rotation = LocalEnvelopeProvider([new_master, old_master])
    assert during_rotation.unwrap_data_key(owner, kek, 1, data_key.wrapped) == data_key.plaintext
    rewrapped = during_rotation.rewrap_kek(owner, kek)
    assert rewrapped.wrapped_kek != kek.wrapped_kek

    after_rotation = LocalEnvelopeProvider([new_master])
    assert after_rotation.unwrap_data_key(owner, rewrapped, 1, data_key.wrapped) == (
        data_key.plaintext
    )
    with pytest.raises(KeyUnavailable, match="master key that wrapped"):
        after_rotation.unwrap_data_key(owner, kek, 1, data_key.wrapped)


def test_E5_rotate_keys_rewrap_retires_the_previous_master_key(org_a, settings, master_keys):
    old_master, new_master = settings.PALISADE_MASTER_KEYS[0], new_master_key()
    with tenant_context(org_a):
        integration_secret_set(name="payroll", secret="payroll token")

    # Without the previous master the KEK cannot be opened: a configuration error, loud.
    with (
        master_keys([new_master]),
        tenant_context(org_a),
        pytest.raises(KeyUnavailable, match="master key that wrapped"),
    ):
        _ = IntegrationSecret.objects.get().secret
    with master_keys([new_master, old_master]):
        output = _rotate_keys("--rewrap", "--reencrypt")
    assert "alpha: KEK re-wrapped, data key v2, 1 values re-encrypted" in output
    with master_keys([new_master]), tenant_context(org_a):
        assert _plaintexts() == {"payroll": "payroll token"}
        integration_secret_set(name="sso", secret="sso secret")
        forget_cached_keys()
        assert _plaintexts() == {"payroll": "payroll token", "sso": "sso secret"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--org", "nobody"], "No organisation has the slug 'nobody'."),
        (["--batch-size", "0"], "--batch-size must be at least 1."),
    ],
)
def test_E5_rotate_keys_refuses_bad_input_clearly(arguments, message):
    with pytest.raises(CommandError, match=message):
        _rotate_keys(*arguments)


def test_E5_rotate_keys_error_exits_non_zero_without_a_traceback(test_environment):
    result = subprocess.run(
        [sys.executable, "manage.py", "rotate_keys", "--org", "nobody"],
        env=test_environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "No organisation has the slug 'nobody'." in result.stderr
    assert "Traceback" not in result.stderr
