"""What each way of authenticating costs on a simple organisation API read (A7, A8, A17).
Run with ``.venv/bin/python scripts/devstack.py bench bench/token_auth.py [REQUESTS]``.

The same request (``GET /api/v1/o/bench/sites/?page_size=50``) is sent to a real gunicorn
(one sync worker) with a browser session cookie, an API token (``pal_...``) and a token-mode
access JWT, the three interleaved so that machine noise hits each alike. Printed per mode:
latency percentiles, sequential throughput, and the SQL queries of one request (counted in
this process). Access JWTs live 60 seconds, so a new one is issued every 45.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from tenants.context import tenant_context  # noqa: E402
from tenants.models import Membership  # noqa: E402
from tests.factories import make_membership, make_organization, make_sites, make_user  # noqa: E402
from tests.processes import gunicorn  # noqa: E402
from tokens.services.api_tokens import api_token_create  # noqa: E402
from tokens.services.token_mode import token_mode_sign_in  # noqa: E402

API = "/api/v1/o/bench/sites/?page_size=50"
JWT_RENEW_SECONDS = 45


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms"


class Credentials:
    def __init__(self, user, organization) -> None:
        self.user = user
        browser = Client()
        browser.force_login(user)
        self.cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
        with tenant_context(organization):
            self.api_token = api_token_create(
                owner=user,
                name="bench",
                scopes=["sites:read"],
                expires_at=timezone.now() + timedelta(days=1),
                second_factor_verified=False,
            ).token
        self._access, self._issued = "", 0.0

    def access(self) -> str:
        if time.monotonic() - self._issued > JWT_RENEW_SECONDS:
            self._access, self._issued = token_mode_sign_in(user=self.user).access, time.monotonic()
        return self._access

    def headers(self, mode: str) -> dict[str, str]:
        if mode == "session":
            return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.cookie}"}
        if mode == "api token":
            return {"Authorization": f"Bearer {self.api_token}"}
        return {"Authorization": f"Bearer {self.access()}"}


MODES = ["session", "api token", "access JWT"]


def status_of(base_url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        base_url + API, headers={"Host": settings.PORTAL_HOST, **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def queries_per_request(credentials: Credentials) -> dict[str, int]:
    counts = {}
    for mode in MODES:
        headers = credentials.headers(mode)
        client = Client(HTTP_HOST=settings.PORTAL_HOST)
        if mode == "session":
            client.cookies[settings.SESSION_COOKIE_NAME] = credentials.cookie
        else:
            client.defaults["HTTP_AUTHORIZATION"] = headers["Authorization"]
        assert client.get(API).status_code == 200
        with CaptureQueriesContext(connection) as captured:
            assert client.get(API).status_code == 200
        counts[mode] = len(captured)
    return counts


def main() -> None:
    requests_per_mode = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    organization = make_organization("Bench", "bench")
    make_sites(organization, 50, "Site")
    user = make_user("member@bench.example")
    make_membership(organization, user, role=Membership.Role.STAFF)
    credentials = Credentials(user, organization)
    environment = {**os.environ, "PALISADE_DB_CONN_MAX_AGE": "600", "PALISADE_ENV": "test"}
    samples: dict[str, list[float]] = {mode: [] for mode in MODES}
    with gunicorn(environment) as base_url:
        for _ in range(30):
            for mode in MODES:
                assert status_of(base_url, credentials.headers(mode)) == 200, mode
        for _ in range(requests_per_mode):
            for mode in MODES:
                headers = credentials.headers(mode)
                start = time.perf_counter()
                assert status_of(base_url, headers) == 200, mode
                samples[mode].append(time.perf_counter() - start)
    queries = queries_per_request(credentials)
    print(f"GET {API} through gunicorn (1 sync worker), {requests_per_mode} requests per mode:")
    for mode in MODES:
        throughput = 1 / statistics.mean(samples[mode])
        print(
            f"  {mode:<11} {percentiles(samples[mode])}  {throughput:6.0f} req/s sequential  "
            f"{queries[mode]} queries"
        )


if __name__ == "__main__":
    main()
