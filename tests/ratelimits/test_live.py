"""A11 on the real stack: a gunicorn with several worker processes and threads, clients in
parallel threads, Redis shared by all of them."""

from __future__ import annotations

import math
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import make_membership, make_organization, make_user
from tests.processes import free_port, gunicorn

SITES_API = "/api/v1/o/alpha/sites/"
CLIENTS = 8
STORM_SECONDS = 6.0


@dataclass(frozen=True)
class Exchange:
    sent: float
    received: float
    status: int
    headers: dict[str, str]


@pytest.fixture
def session_cookie(committed_db) -> str:
    organization = make_organization("Alpha Guarding", "alpha")
    member = make_user("ann@alpha.example")
    make_membership(organization, member)
    client = Client()
    client.force_login(member)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def live_environment(test_environment, prefix: str, **overrides: str) -> dict[str, str]:
    return {
        **test_environment,
        "PALISADE_RATELIMIT_ENABLED": "1",
        "PALISADE_RATELIMIT_KEY_PREFIX": prefix,
        **overrides,
    }


def request(base_url: str, path: str, *, method: str = "GET", headers: dict[str, str]) -> Exchange:
    """One request on a connection of its own, written by hand so any header bytes can go."""
    url = urlsplit(base_url)
    assert url.hostname == "127.0.0.1"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {settings.PORTAL_HOST}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if method == "POST":
        lines += ["Content-Type: application/x-www-form-urlencoded", "Content-Length: 0"]
    sent = time.time()
    return _exchange(url.port, "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n", sent)


def _exchange(port: int, payload: bytes, sent: float) -> Exchange:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    received = time.time()
    head = b"".join(chunks).split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    return Exchange(sent, received, int(head[0].split(" ")[1]), headers)


def storm(base_url: str, path: str, cookie: str) -> list[Exchange]:
    """CLIENTS threads firing as fast as they can for STORM_SECONDS (and 500 requests each at
    most)."""
    deadline = time.monotonic() + STORM_SECONDS
    start = threading.Barrier(CLIENTS)

    def client(_: int) -> list[Exchange]:
        start.wait()
        exchanges = []
        while time.monotonic() < deadline and len(exchanges) < 500:
            exchanges.append(request(base_url, path, headers={"Cookie": cookie}))
        return exchanges

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return [e for exchanges in pool.map(client, range(CLIENTS)) for e in exchanges]


def fits_in_windows(passed: list[Exchange], limit: int, seconds: int) -> bool:
    """Whether every passed request can be placed in a window of Redis time (the machine's
    clock) that it was in flight during, with at most ``limit`` per window. Earliest-deadline
    greedy, which is exact for requests spanning runs of consecutive windows."""
    spans = sorted((math.floor(e.received / seconds), math.floor(e.sent / seconds)) for e in passed)
    used: dict[int, int] = {}
    for last, first in spans:
        window = next((w for w in range(first, last + 1) if used.get(w, 0) < limit), None)
        if window is None:
            return False
        used[window] = used.get(window, 0) + 1
    return True


def test_A11_parallel_clients_never_get_more_than_the_quota_through(
    session_cookie, rate_limits, test_environment
):
    env = live_environment(test_environment, rate_limits, PALISADE_RATELIMIT_DEFAULT="2/2")
    with gunicorn(env, workers=2, threads=4) as base_url:
        exchanges = storm(base_url, SITES_API, session_cookie)
        passed = [e for e in exchanges if e.status == 200]
        refused = [e for e in exchanges if e.status == 429]
        assert len(passed) + len(refused) == len(exchanges), {e.status for e in exchanges}
        assert len(refused) > len(passed) > 0
        windows = math.ceil(STORM_SECONDS / 2) + 1
        assert len(passed) <= 2 * windows
        assert fits_in_windows(passed, limit=2, seconds=2)
        for response in refused:
            assert response.headers["Retry-After"] in {"1", "2"}
            assert response.headers["RateLimit-Remaining"] == "0"
            assert response.headers["RateLimit-Policy"].startswith("2;w=2, ")

        # Retry-After is honest: waiting that long lets the next request through.
        cookie = {"Cookie": session_cookie}
        for _ in range(3):
            response = request(base_url, SITES_API, headers=cookie)
            if response.status == 429:
                break
        assert response.status == 429
        time.sleep(int(response.headers["Retry-After"]))
        assert request(base_url, SITES_API, headers=cookie).status == 200


def test_A11_redis_down_reads_pass_and_sign_in_is_refused(
    session_cookie, rate_limits, test_environment
):
    env = live_environment(
        test_environment, rate_limits, PALISADE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"
    )
    with gunicorn(env) as base_url:
        assert request(base_url, SITES_API, headers={"Cookie": session_cookie}).status == 200
        assert request(base_url, "/accounts/login/", headers={}).status == 503
        assert request(base_url, "/accounts/login/", method="POST", headers={}).status == 503
        assert request(base_url, "/healthz", headers={}).status == 200


@pytest.mark.parametrize(
    "forwarded",
    [
        "x" * 20_000,  # longer than gunicorn accepts in one header
        ", ".join(["198.51.100.1"] * 600),
        "２０３.０.１１３.９",  # noqa: RUF001 - full-width digits are the point
        "fe80::1%ü, 203.0.113.9",
        "203.0.113.9\x7f, ::ffff:%, 999.1.1.1",
        "",
    ],
    ids=["huge", "many-hops", "fullwidth-digits", "unicode-zone", "garbage", "empty"],
)
def test_A11_malformed_forwarded_headers_get_a_clear_answer(
    committed_db, rate_limits, test_environment, forwarded
):
    env = live_environment(
        test_environment,
        rate_limits,
        PALISADE_TRUSTED_PROXIES="127.0.0.1/32",
        PALISADE_RATELIMIT_DEFAULT="1000/60",
    )
    with gunicorn(env) as base_url:
        response = request(base_url, "/accounts/logout/", headers={"X-Forwarded-For": forwarded})
        assert response.status in {400, 405, 431}
        assert request(base_url, "/healthz", headers={}).status == 200


def test_A11_behind_a_trusted_proxy_each_client_has_its_own_bucket(
    committed_db, rate_limits, test_environment
):
    env = live_environment(
        test_environment,
        rate_limits,
        PALISADE_TRUSTED_PROXIES="127.0.0.1/32",
        PALISADE_RATELIMIT_DEFAULT="2/3600",
    )
    first, second = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "203.0.113.10"}
    with gunicorn(env) as base_url:
        statuses = [request(base_url, "/accounts/logout/", headers=first).status for _ in range(3)]
        assert statuses == [405, 405, 429]
        assert request(base_url, "/accounts/logout/", headers=second).status == 405
