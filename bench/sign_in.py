"""What signing in costs, through real HTTP (gunicorn, one sync worker) on the real stack.
Run with ``scripts/devstack.py bench bench/sign_in.py``.

Figures printed:
1. sign-in with a password only (one POST) and with password then authenticator-app code
   (two POSTs), each a fresh browser whose session and CSRF cookies come from the sign-in page;
2. a refused sign-in for an unknown email against one for a known email with a wrong password
   (A1: the same page, and about the same time), interleaved.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import pyotp  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402

from accounts.second_factors.codes import totp_key_base32  # noqa: E402
from accounts.second_factors.services import (  # noqa: E402
    totp_enrolment_confirm,
    totp_enrolment_start,
)
from tests.factories import TEST_PASSWORD, make_membership, make_organization, make_user  # noqa: E402
from tests.processes import gunicorn  # noqa: E402

USERS = 40
REFUSALS = 41


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie jar and a form poster that speaks to gunicorn under the portal's host name."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )
        self.csrf = ""

    def _open(self, request: urllib.request.Request):
        try:
            return self.opener.open(request, timeout=10)
        except urllib.error.HTTPError as response:  # a 302 or 400 is an answer, not an error
            return response

    def get(self, path: str) -> str:
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.base_url + path, headers={"Host": settings.PORTAL_HOST}
        )
        with self._open(request) as response:
            body = response.read().decode()
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        self.csrf = found.group(1) if found else self.csrf
        return body

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.csrf}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.base_url + path, data=data, headers={"Host": settings.PORTAL_HOST}
        )
        with self._open(request) as response:
            response.read()
            return response.status, response.headers.get("Location", "")


def load_data() -> tuple[list, list[tuple[object, pyotp.TOTP]]]:
    organization = make_organization("Bench", "bench")
    plain, with_app = [], []
    for i in range(USERS):
        user = make_user(f"plain{i}@bench.example")
        make_membership(organization, user)
        plain.append(user)
        user = make_user(f"app{i}@bench.example")
        make_membership(organization, user)
        device = totp_enrolment_start(user=user)
        app = pyotp.TOTP(totp_key_base32(device.key_bytes()))
        totp_enrolment_confirm(user=user, code=app.now())
        with_app.append((user, app))
    for connection in connections.all():
        connection.close()
    return plain, with_app


def summary(samples: list[float]) -> str:
    samples = sorted(samples)
    return (
        f"median {statistics.median(samples) * 1000:.1f} ms, "
        f"p95 {samples[int(len(samples) * 0.95)] * 1000:.1f} ms ({len(samples)} sign-ins)"
    )


def main() -> None:
    plain, with_app = load_data()
    env = {**os.environ, "PALISADE_DB_CONN_MAX_AGE": "600", "PALISADE_ENV": "test"}
    with gunicorn(env) as base_url:
        password_only, two_steps, second_step = [], [], []
        for user in plain:
            browser = Browser(base_url)
            browser.get("/accounts/login/")
            started = time.perf_counter()
            status, location = browser.post(
                "/accounts/login/", {"username": user.email, "password": TEST_PASSWORD}
            )
            password_only.append(time.perf_counter() - started)
            assert (status, location) == (302, "/orgs/"), (status, location)
        for user, app in with_app:
            browser = Browser(base_url)
            browser.get("/accounts/login/")
            started = time.perf_counter()
            status, location = browser.post(
                "/accounts/login/", {"username": user.email, "password": TEST_PASSWORD}
            )
            assert location == "/accounts/login/second-factor/", (status, location)
            halfway = time.perf_counter()
            status, location = browser.post(
                location, {"method": "totp", "code": app.at(time.time() + 30)}
            )
            finished = time.perf_counter()
            assert (status, location) == (302, "/orgs/"), (status, location)
            two_steps.append(finished - started)
            second_step.append(finished - halfway)
        print(f"sign-in, password only:                {summary(password_only)}")
        print(f"sign-in, password + authenticator app: {summary(two_steps)}")
        print(f"  of which the second step:            {summary(second_step)}")

        browser = Browser(base_url)
        browser.get("/accounts/login/")
        unknown, wrong = [], []
        for _ in range(REFUSALS):
            for samples, email, password in (
                (unknown, "nobody@bench.example", TEST_PASSWORD),
                (wrong, plain[0].email, "not " + TEST_PASSWORD),
            ):
                started = time.perf_counter()
                status, _ = browser.post(
                    "/accounts/login/", {"username": email, "password": password}
                )
                samples.append(time.perf_counter() - started)
                assert status == 200
        gap = statistics.median(wrong) - statistics.median(unknown)
        print(f"refused sign-in, unknown email:        {summary(unknown)}")
        print(f"refused sign-in, wrong password:       {summary(wrong)}")
        print(f"  difference of medians: {gap * 1000:+.1f} ms")


if __name__ == "__main__":
    main()
