"""The rate-limit middleware through Django's test client (A11, T6): headers on every counted
response, 429 as JSON for the API and as a page for the portal, buckets per organisation
and per network, stricter public endpoints, health checks never counted, Redis outages
failing open for ordinary requests and closed for sign-in."""

from __future__ import annotations

import logging

import pytest
import redis.connection
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse

from config import network
from ratelimits.limiter import outage_log
from ratelimits.policies import ENDPOINT_POLICIES, EXEMPT_URL_NAMES, url_name
from tenants.middleware import ORG_PATH
from tests.factories import make_membership, make_organization, make_user
from tests.processes import free_port
from tests.ratelimits.conftest import set_quotas

pytestmark = pytest.mark.django_db

SITES_API = "/api/v1/o/alpha/sites/"
FULLWIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + digit) for digit in range(10)))


def browser(ip: str = "198.51.100.7", **extra) -> Client:
    return Client(HTTP_HOST=settings.PORTAL_HOST, REMOTE_ADDR=ip, **extra)


@pytest.fixture
def member(org_a, member_of_a) -> Client:
    client = browser()
    client.force_login(member_of_a)
    return client


def statuses(client: Client, path: str, times: int) -> list[int]:
    return [client.get(path).status_code for _ in range(times)]


def test_A11_a_counted_response_carries_the_rate_limit_headers(member):
    response = member.get(SITES_API)
    assert response.status_code == 200
    assert response["RateLimit-Limit"] == "3"
    assert response["RateLimit-Remaining"] == "2"
    assert 1 <= int(response["RateLimit-Reset"]) <= 1
    assert response["RateLimit-Policy"] == (
        "3;w=1, 200;w=60, 800;w=300, "
        '12;w=1;scope="all-organizations", 800;w=60;scope="all-organizations", '
        '3200;w=300;scope="all-organizations"'
    )
    assert "Retry-After" not in response


def test_A11_the_api_over_its_quota_gets_429_json_with_retry_after(member, settings):
    set_quotas(settings, "default", "2/86400,5/86400")
    assert statuses(member, SITES_API, 2) == [200, 200]
    refused = member.get(SITES_API)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["code"] == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= 86400
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Limit"] == "2"
    assert refused["RateLimit-Reset"] == refused["Retry-After"]
    assert "no-store" in refused["Cache-Control"]


def test_A11_a_portal_page_over_its_quota_gets_a_429_page(member, settings):
    set_quotas(settings, "default", "1/86400")
    assert member.get("/o/alpha/sites/").status_code == 200
    refused = member.get("/o/alpha/sites/")
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/html")
    assert b"Too many requests" in refused.content
    assert "Retry-After" in refused


def test_T6_each_organisation_has_its_own_buckets(org_a, member_of_a, settings):
    bravo = make_organization("Bravo Care", "bravo")
    make_membership(bravo, member_of_a)
    set_quotas(settings, "default", "2/86400")
    client = browser()
    client.force_login(member_of_a)
    assert statuses(client, SITES_API, 3) == [200, 200, 429]
    assert statuses(client, "/api/v1/o/bravo/sites/", 3) == [200, 200, 429]


def test_A11_all_organisations_together_are_capped_at_the_factor(member, settings):
    set_quotas(settings, "default", "2/86400")
    settings.PALISADE_RATELIMIT_ALL_ORGANIZATIONS_FACTOR = 2
    assert statuses(member, SITES_API, 2) == [200, 200]
    # Slugs of organisations that do not exist get buckets of their own, but not capacity:
    # the user's cross-organisation bucket (2 x 2) is full after two more.
    assert statuses(member, "/api/v1/o/no-such-org/sites/", 2) == [404, 404]
    assert member.get("/api/v1/o/another-made-up-one/sites/").status_code == 429
    assert member.get("/account/sessions/").status_code == 429


def test_A11_people_behind_one_address_have_their_own_buckets(org_a, member_of_a, settings):
    colleague = make_user("bob@alpha.example")
    make_membership(org_a, colleague)
    set_quotas(settings, "default", "1/86400")
    ann, bob = browser(), browser()
    ann.force_login(member_of_a)
    bob.force_login(colleague)
    assert statuses(ann, SITES_API, 2) == [200, 429]
    assert bob.get(SITES_API).status_code == 200


def test_A11_anonymous_traffic_is_counted_per_network(settings):
    set_quotas(settings, "default", "1/86400")
    assert statuses(browser("203.0.113.7"), "/accounts/logout/", 2) == [405, 429]
    assert browser("203.0.113.8").get("/accounts/logout/").status_code == 405
    # IPv6: one /64 is one subscriber, so its addresses share a bucket.
    assert browser("2001:db8:1:2::1").get("/accounts/logout/").status_code == 405
    assert browser("2001:db8:1:2:ffff::9").get("/accounts/logout/").status_code == 429
    assert browser("2001:db8:1:3::1").get("/accounts/logout/").status_code == 405
    # An IPv4 peer seen through a dual-stack socket is that IPv4 address.
    assert browser("::ffff:203.0.113.7").get("/accounts/logout/").status_code == 429


def test_A11_public_endpoints_have_stricter_policies(settings):
    set_quotas(settings, "default", "100/86400")
    set_quotas(settings, "sign-in", "2/86400")
    set_quotas(settings, "public-form", "1/86400")
    client = browser()
    assert statuses(client, "/accounts/login/", 3) == [200, 200, 429]
    assert client.get("/accounts/login/second-factor/").status_code == 429
    assert client.get("/invitations/some-link-token/").status_code == 410
    assert client.get("/invitations/another-token/").status_code == 429
    # Only the public endpoints' policies are full: other pages still answer.
    assert client.get("/").status_code == 302
    refused = client.get("/accounts/login/")
    assert refused["RateLimit-Policy"].endswith('2;w=86400;policy="sign-in"')


def test_A11_health_checks_are_never_limited(settings):
    set_quotas(settings, "default", "1/86400")
    for _ in range(5):
        response = browser().get("/healthz")
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response


@pytest.mark.parametrize(
    "extra",
    [
        {"REMOTE_ADDR": "198.51.100.7".translate(FULLWIDTH)},
        {"REMOTE_ADDR": "fe80::1%ünï"},
        {"REMOTE_ADDR": ""},
        {"HTTP_X_FORWARDED_FOR": "x" * 100_000},
        {"HTTP_X_FORWARDED_FOR": ", ".join(["203.0.113.9"] * 20_000)},
        {
            "HTTP_X_FORWARDED_FOR": "203.0.113.9".translate(FULLWIDTH)
            + ", ::ffff:%, 999.1.1.1, \x00"
        },
    ],
    ids=["fullwidth-digits", "unicode-zone", "empty", "huge", "many-hops", "garbage"],
)
def test_A11_malformed_addresses_never_crash_and_still_count(settings, extra):
    set_quotas(settings, "default", "1/86400")
    client = browser(**{"ip": extra.pop("REMOTE_ADDR", "198.51.100.7"), **extra})
    first, second = client.get("/accounts/logout/"), client.get("/accounts/logout/")
    assert (first.status_code, second.status_code) == (405, 429)


def test_A11_one_redis_round_trip_per_limited_request(member, monkeypatch):
    assert member.get(SITES_API).status_code == 200  # connection set up, script loaded
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    assert member.get(SITES_API).status_code == 200
    assert member.get("/o/alpha/sites/").status_code == 200
    assert len(sent) == 2


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    # A port handed out again must not find an earlier test's outage already logged.
    outage_log.cache_clear()


def test_A11_redis_down_ordinary_requests_pass_and_sign_in_is_refused(member, redis_down, caplog):
    with caplog.at_level(logging.ERROR, logger="ratelimits"):
        assert member.get(SITES_API).status_code == 200
        assert member.get(SITES_API).status_code == 200
    assert [r.message.startswith("Rate-limit store unreachable") for r in caplog.records] == [True]
    refused = browser().get("/accounts/login/")
    assert refused.status_code == 503
    assert b"Signing in is temporarily unavailable" in refused.content
    posted = browser().post("/accounts/login/", {"username": "a@b.example", "password": "x"})
    assert posted.status_code == 503
    assert browser().get("/invitations/some-link-token/").status_code == 503
    assert browser().get("/healthz").status_code == 200


def test_A11_redis_down_fail_open_is_a_setting_per_policy(redis_down, settings):
    set_quotas(settings, "sign-in", "20/60", fail_open=True)
    set_quotas(settings, "default", "3/1", fail_open=False)
    assert browser().get("/accounts/login/").status_code == 503  # default now fails closed
    set_quotas(settings, "default", "3/1", fail_open=True)
    assert browser().get("/accounts/login/").status_code == 200


def test_A11_every_named_endpoint_exists_outside_organisations():
    """A renamed URL must not silently fall back to the default policy."""
    for name in [*ENDPOINT_POLICIES, *EXEMPT_URL_NAMES]:
        path = reverse(name, urlconf="config.urls_portal", kwargs=_kwargs_of(name))
        assert not ORG_PATH.match(path), path
        assert url_name(RequestFactory().get(path)) == name


def _kwargs_of(name: str) -> dict[str, str]:
    if name == "invitation-accept":
        return {"link_token": "token"}
    if name in {"public-join", "public-demo"}:
        return {"org_slug": "alpha"}
    return {}


def test_A11_refusals_are_not_logged_one_line_each(member, settings, caplog):
    set_quotas(settings, "default", "1/86400")
    with caplog.at_level(logging.DEBUG - 1, logger="django.request"):
        member.get(SITES_API)
        for _ in range(3):
            assert member.get(SITES_API).status_code == 429
        assert member.get("/api/v1/o/alpha/sites/999999/").status_code == 429
    assert caplog.records == []


@pytest.fixture
def behind_a_trusted_proxy(settings):
    settings.PALISADE_TRUSTED_PROXIES = ["198.51.100.0/24"]
    network._trusted_networks.cache_clear()
    yield
    network._trusted_networks.cache_clear()


def test_A11_a_forwarded_zone_id_is_dropped_not_stored(member_of_a, behind_a_trusted_proxy):
    forwarded = "fe80::1%" + "z" * 50  # parses as an address, longer than any stored one
    client = browser("198.51.100.1", HTTP_X_FORWARDED_FOR=forwarded)
    response = client.post("/accounts/login/", {"username": member_of_a.email, "password": "x"})
    assert response.status_code == 200  # the form again, its failure audited from fe80::1
    assert network.client_ip(response.wsgi_request) == "fe80::1"
