"""A7: in production the session and CSRF cookies are Secure, HttpOnly (session), SameSite and
``__Host-`` prefixed; sessions are the digest-keyed database store in every profile."""

import json
import os
import subprocess
import sys

from tests.processes import ROOT
from tests.test_configuration import SAFE_PRODUCTION

PRINT_COOKIE_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SESSION_ENGINE, s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, "
    "s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.SESSION_COOKIE_DOMAIN, "
    "s.SESSION_COOKIE_PATH, s.CSRF_COOKIE_NAME, s.CSRF_COOKIE_SECURE]))"
)


def test_A7_production_session_cookies_are_secure_and_host_bound():
    result = subprocess.run(
        [sys.executable, "-c", PRINT_COOKIE_SETTINGS],
        env={**os.environ, **SAFE_PRODUCTION},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "accounts.sessions.store",
        "__Host-sessionid",
        True,
        True,
        "Lax",
        None,
        "/",
        "__Host-csrftoken",
        True,
    ]
