"""A1: passwords from breach corpora are refused, checked through a Have I Been Pwned-style
range API (a real local HTTP server stands in for the public service)."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings

BREACHED = "correct horse battery staple"
SAFE = "an unguessable sentence 8814 of my own"


def _sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


@pytest.fixture
def range_api():
    """Answers /range/<prefix> like the real service: padded suffix:count lines."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            prefix = self.path.rsplit("/", 1)[-1]
            lines = ["0" * 35 + ":0"]  # padding entry
            if _sha1(BREACHED).startswith(prefix):
                lines.append(f"{_sha1(BREACHED)[5:]}:3645804")
            body = "\r\n".join(lines).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with override_settings(PALISADE_HIBP_URL=f"http://127.0.0.1:{server.server_port}"):
            yield requests
    finally:
        server.shutdown()


def test_A1_breached_password_is_refused_and_only_a_hash_prefix_leaves(range_api):
    with pytest.raises(ValidationError, match="data breach"):
        validate_password(BREACHED)
    validate_password(SAFE)
    assert range_api == [f"/range/{_sha1(BREACHED)[:5]}", f"/range/{_sha1(SAFE)[:5]}"]


def test_A1_unreachable_service_fails_open_by_default_and_closed_when_configured():
    with override_settings(PALISADE_HIBP_URL="http://127.0.0.1:9"):
        validate_password(SAFE)
        with (
            override_settings(PALISADE_HIBP_FAIL_CLOSED=True),
            pytest.raises(ValidationError, match="could not check"),
        ):
            validate_password(SAFE)


@pytest.mark.parametrize("password", ["password1234", "1q2w3e4r5t6y", "123456789012", "short"])
def test_A1_common_short_and_numeric_passwords_are_refused_offline(password):
    with pytest.raises(ValidationError):
        validate_password(password)
