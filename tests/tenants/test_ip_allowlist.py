"""A12: per-organisation IP allowlists. IPv4 and IPv6 networks parsed with ``ipaddress``,
enforced on every organisation page and API call and at sign-in; X-Forwarded-For believed
only from trusted proxies; changes guarded against locking out the admin making them; an
owner's break-glass suspends the list, loudly. Bad input is a clear 400, never a crash."""

from __future__ import annotations

import html
import ipaddress
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from config import network
from tenants.context import tenant_context
from tenants.ip_allowlist import (
    SIGN_IN_REFUSED,
    EntryInput,
    ip_allowlist_replace,
    network_parse,
)
from tenants.models import IpAllowlistEntry, Membership, SecurityPolicy
from tenants.selectors import active_membership
from tests.accounts.mfa_helpers import (
    SECOND_FACTOR_PAGE,
    enrol_totp,
    is_signed_in,
    next_step_code,
    verify,
)
from tests.factories import TEST_PASSWORD, make_membership, make_organization, make_user
from tokens.api import REFRESH_COOKIE
from tokens.services.api_tokens import api_token_create

pytestmark = pytest.mark.django_db

OFFICE = "203.0.113.0/24"
IN_OFFICE = "203.0.113.9"
OUTSIDE = "198.51.100.7"
OFFICE_V6 = "2001:db8:a::/48"
IN_OFFICE_V6 = "2001:db8:a::15"
OUTSIDE_V6 = "2001:db8:b::15"
PROXY = "10.0.0.2"
FULLWIDTH_IN_OFFICE = "\uff12\uff10\uff13.0.113.9"

ALLOWLIST = "/api/v1/o/alpha/security/ip-allowlist/"
BREAK_GLASS = ALLOWLIST + "break-glass/"
RESUME = ALLOWLIST + "resume/"
BREAK_GLASS_PAGE = "/o/alpha/settings/ip-allowlist/break-glass/"
SITES_API = "/api/v1/o/alpha/sites/"
SITES_PAGE = "/o/alpha/sites/"
REASON = "Office line replaced, new address not listed yet"
TOKEN_SIGN_IN = "/api/v1/auth/token/"


def _member(org, email: str, role: str):
    user = make_user(email)
    make_membership(org, user, role=role)
    return user


@pytest.fixture
def owner(org_a):
    return _member(org_a, "olga@alpha.example", Membership.Role.OWNER)


@pytest.fixture
def admin(org_a):
    return _member(org_a, "adam@alpha.example", Membership.Role.ADMIN)


def _client(user=None, ip: str = IN_OFFICE) -> Client:
    client = Client(HTTP_HOST=settings.PORTAL_HOST, REMOTE_ADDR=ip)
    if user is not None:
        client.force_login(user)
    return client


def _allow(org, *cidrs: str) -> None:
    """Sets the organisation's allowlist through the service, as an admin inside it."""
    inside = str(ipaddress.ip_network(cidrs[0])[1]) if cidrs else None
    with tenant_context(org):
        ip_allowlist_replace(
            entries=[EntryInput(cidr=cidr) for cidr in cidrs], created_by=None, actor_ip=inside
        )


def _events(org, action: str) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _entries(org) -> list[str]:
    with tenant_context(org):
        return list(IpAllowlistEntry.objects.order_by("id").values_list("cidr", flat=True))


def _json(client: Client, method: str, url: str, data=None, **extra):
    return getattr(client, method)(url, data, content_type="application/json", **extra)


@pytest.fixture
def trusted_proxies(settings):
    settings.PALISADE_TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]
    network._trusted_networks.cache_clear()
    yield
    network._trusted_networks.cache_clear()


# --- Parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("203.0.113.0/24", "203.0.113.0/24"),
        (" 203.0.113.9 ", "203.0.113.9/32"),
        ("10.0.0.0/255.0.0.0", "10.0.0.0/8"),
        ("2001:DB8:A::/48", "2001:db8:a::/48"),
        ("2001:db8::1", "2001:db8::1/128"),
    ],
)
def test_A12_networks_are_parsed_with_ipaddress_and_normalised(typed, stored):
    assert str(network_parse(typed)) == stored


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("10.0.0.0/33", "CIDR notation"),
        ("300.1.1.1", "CIDR notation"),
        ("fe80::/129", "CIDR notation"),
        ("10/8", "CIDR notation"),
        ("10.0.0.0/8; DROP TABLE x", "CIDR notation"),
        ("", "This field may not be blank"),
        ("1" * 10_000, "no more than 50 characters"),
        ("\uff11\uff12\uff17.0.0.1", "ASCII"),  # "127.0.0.1" in fullwidth digits
        ("10.0.0.0/8\u200b", "ASCII"),
        ("fe80::%eth0/64", "Zone ids"),
        ("10.0.0.1/8", "write the network as 10.0.0.0/8, or the single address as 10.0.0.1/32"),
        ("::ffff:10.0.0.0/104", "Write this network as IPv4: 10.0.0.0/8"),
        ("0.0.0.0/0", "confirm_broad"),
        ("::/0", "confirm_broad"),
        ("2000::/3", "confirm_broad"),
    ],
)
def test_A12_malformed_or_absurd_networks_are_a_clear_400(org_a, admin, typed, says):
    response = _json(_client(admin), "post", ALLOWLIST, {"cidr": typed})
    assert response.status_code == 400, response.content
    assert says in " ".join(response.json()["cidr"])
    assert _entries(org_a) == []
    assert _events(org_a, "ip_allowlist.entry_added") == []


@pytest.mark.parametrize(
    "body",
    [
        {"cidr": ["203.0.113.0/24"]},
        {"cidr": {"$ne": ""}},
        {"cidr": OFFICE, "label": "x" * 10_000},
        {"cidr": "203.0.113.0/24\x00"},
        {},
    ],
)
def test_A12_malformed_bodies_are_a_400(org_a, admin, body):
    assert _json(_client(admin), "post", ALLOWLIST, body).status_code == 400
    assert _json(_client(admin), "put", ALLOWLIST, {"entries": [body]}).status_code == 400
    assert _entries(org_a) == []


def test_A12_confirmation_must_be_a_boolean(org_a, admin):
    body = {"cidr": "0.0.0.0/0", "confirm_broad": "maybe"}
    assert _json(_client(admin), "post", ALLOWLIST, body).status_code == 400
    assert _json(_client(admin), "put", ALLOWLIST, {"entries": [], **body}).status_code == 400


def test_A12_a_replacement_with_one_bad_entry_is_refused_whole(org_a, admin):
    entries = [{"cidr": OFFICE}, {"cidr": "300.1.1.1"}, {"cidr": "203.0.113.0/24"}]
    response = _json(_client(admin), "put", ALLOWLIST, {"entries": entries})
    assert response.status_code == 400
    assert response.json()["entries"] == [
        "Entry 2: Enter an IPv4 or IPv6 address or network in CIDR notation, "
        "e.g. 203.0.113.0/24 or 2001:db8::/48.",
        "Entry 3: 203.0.113.0/24 is listed twice.",
    ]
    too_many = [{"cidr": f"10.0.{i}.0/24"} for i in range(101)]
    assert _json(_client(admin), "put", ALLOWLIST, {"entries": too_many}).status_code == 400
    assert _entries(org_a) == []


def test_A12_broad_network_needs_explicit_confirmation(org_a, admin):
    client = _client(admin)
    assert _json(client, "post", ALLOWLIST, {"cidr": "0.0.0.0/0"}).status_code == 400
    confirmed = _json(client, "post", ALLOWLIST, {"cidr": "0.0.0.0/0", "confirm_broad": True})
    assert confirmed.status_code == 201
    assert confirmed.json()["cidr"] == "0.0.0.0/0"


def test_A12_an_allowlist_holds_at_most_100_networks(org_a, admin):
    _allow(org_a, *[f"203.0.{i}.0/24" for i in range(100)])
    response = _json(_client(admin, "203.0.0.1"), "post", ALLOWLIST, {"cidr": "192.0.2.0/24"})
    assert response.status_code == 400
    assert "at most 100" in response.content.decode()
    duplicate = _json(_client(admin, "203.0.0.1"), "post", ALLOWLIST, {"cidr": "203.0.0.0/24"})
    assert "already on the allowlist" in duplicate.content.decode()


# --- Enforcement --------------------------------------------------------------------------


def test_A12_membership_carries_the_allowlist_in_its_one_query(org_a, member_of_a):
    _allow(org_a, OFFICE, OFFICE_V6)
    with tenant_context(org_a), CaptureQueriesContext(connection) as captured:
        membership = active_membership(member_of_a)
    assert len(captured) == 1
    assert set(membership.ip_allowlist) == {OFFICE, OFFICE_V6}
    assert membership.ip_allowlist_suspended_at is None


def _page_and_api(user, ip: str, **extra) -> tuple[int, int]:
    client = _client(user, ip)
    return client.get(SITES_PAGE, **extra).status_code, client.get(SITES_API, **extra).status_code


@pytest.mark.parametrize(
    ("allowlist", "ip", "allowed"),
    [
        ([OFFICE], IN_OFFICE, True),
        ([OFFICE], "203.0.113.255", True),
        ([OFFICE], "203.0.114.0", False),
        ([OFFICE], OUTSIDE, False),
        ([OFFICE_V6], IN_OFFICE_V6, True),
        ([OFFICE_V6], "2001:DB8:A:FFFF::1", True),
        ([OFFICE_V6], OUTSIDE_V6, False),
        ([OFFICE], IN_OFFICE_V6, False),
        ([OFFICE_V6], IN_OFFICE, False),
        ([OFFICE, OFFICE_V6], IN_OFFICE_V6, True),
        # A dual-stack socket reports an IPv4 peer as IPv4-mapped IPv6.
        ([OFFICE], "::ffff:203.0.113.9", True),
        ([OFFICE], "::ffff:198.51.100.7", False),
        ([], OUTSIDE, True),
    ],
)
def test_A12_pages_and_api_follow_the_allowlist(org_a, member_of_a, allowlist, ip, allowed):
    _allow(org_a, *allowlist)
    expected = 200 if allowed else 403
    assert _page_and_api(member_of_a, ip) == (expected, expected)


def test_A12_refusal_is_clear_audited_and_reveals_no_allowlist(org_a, member_of_a):
    _allow(org_a, OFFICE, OFFICE_V6)
    client = _client(member_of_a, "::ffff:198.51.100.7")
    api = client.get(SITES_API, HTTP_USER_AGENT="curl/8")
    assert api.status_code == 403
    assert api.json() == {
        "detail": "Alpha Guarding does not allow access from your network (198.51.100.7). "
        "Connect from an allowed network, or ask an administrator of Alpha Guarding to add it.",
        "code": "ip_not_allowed",
    }
    page = client.get(SITES_PAGE)
    assert page.status_code == 403
    assert b"does not allow access from your network (198.51.100.7)" in page.content
    for body in (api.content, page.content):
        assert b"203.0.113" not in body and b"2001:db8" not in body
    assert b"Suspend the IP allowlist" not in page.content  # owners only
    [first, second] = _events(org_a, "ip_allowlist.request_refused")
    assert (first.actor_id, first.actor_role, first.ip) == (str(member_of_a.pk), "staff", OUTSIDE)
    assert first.user_agent == "curl/8"
    assert first.changes == {"path": [None, SITES_API], "method": [None, "GET"]}
    assert second.changes["path"] == [None, SITES_PAGE]


def test_A12_refused_write_leaves_nothing_behind(org_a, admin):
    _allow(org_a, OFFICE)
    client = _client(admin, OUTSIDE)
    response = _json(client, "post", "/api/v1/o/alpha/invitations/", {"email": "x@y.example"})
    assert response.status_code == 403
    assert _events(org_a, "invitation.created") == []
    assert len(_events(org_a, "ip_allowlist.request_refused")) == 1


def test_A12_non_members_get_the_same_404_whatever_the_allowlist(org_a, org_b):
    _allow(org_a, OFFICE)
    stranger = _member(org_b, "bob@bravo.example", Membership.Role.OWNER)
    for ip in (IN_OFFICE, OUTSIDE):
        client = _client(stranger, ip)
        for url in (SITES_API, ALLOWLIST, BREAK_GLASS):
            response = client.post(url) if url == BREAK_GLASS else client.get(url)
            assert (response.status_code, response.content) == (404, b'{"detail": "Not found."}')
    assert _events(org_a, "ip_allowlist.request_refused") == []


def test_A12_the_allowlist_check_costs_no_query(org_a, member_of_a):
    client = _client(member_of_a, IN_OFFICE)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(SITES_API).status_code == 200
        return len(captured)

    without = queries()
    _allow(org_a, OFFICE, *[f"192.0.{i}.0/24" for i in range(99)])
    with_allowlist = queries()
    assert with_allowlist == without


# --- Client address behind proxies --------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded_for", "allowed"),
    [
        (IN_OFFICE, True),
        (OUTSIDE, False),
        (f"{IN_OFFICE}, 10.0.0.3", True),  # past another trusted proxy
        (f"{OUTSIDE}, {IN_OFFICE}", True),  # the rightmost untrusted hop is the client
        (f"{IN_OFFICE}, {OUTSIDE}", False),  # a client-written left part changes nothing
        (f"::ffff:{IN_OFFICE}", True),
        (IN_OFFICE_V6, False),
    ],
)
def test_A12_forwarded_for_counts_from_a_trusted_proxy(
    org_a, member_of_a, trusted_proxies, forwarded_for, allowed
):
    _allow(org_a, OFFICE)
    expected = 200 if allowed else 403
    status = _page_and_api(member_of_a, PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert status == (expected, expected)


@pytest.mark.parametrize("proxies_configured", [False, True])
def test_A12_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(
    request, org_a, member_of_a, proxies_configured
):
    if proxies_configured:
        request.getfixturevalue("trusted_proxies")
    _allow(org_a, OFFICE)
    spoofed = {"HTTP_X_FORWARDED_FOR": IN_OFFICE, "HTTP_X_REAL_IP": IN_OFFICE}
    assert _page_and_api(member_of_a, OUTSIDE, **spoofed) == (403, 403)
    [event, _] = _events(org_a, "ip_allowlist.request_refused")
    assert event.ip == OUTSIDE


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("1" * 100_000, PROXY),
        (",".join(["10.0.0.1"] * 50_000), PROXY),  # more trusted hops than any deployment
        (",".join([IN_OFFICE] * 50_000), IN_OFFICE),
        (" , ,,," * 10_000, PROXY),
        (FULLWIDTH_IN_OFFICE, PROXY),
        (f"{IN_OFFICE}%eth0", PROXY),
        (f"{IN_OFFICE}:443", PROXY),
        (f"[{IN_OFFICE_V6}]:443", PROXY),
        ("unknown", PROXY),
        ("\x00\x7f\xff" * 1000, PROXY),
        ("203.0.\u2028113.9", PROXY),
    ],
)
def test_A12_huge_or_garbage_forwarded_for_never_crashes(
    org_a, member_of_a, trusted_proxies, forwarded_for, client
):
    _allow(org_a, OFFICE)
    expected = 200 if client == IN_OFFICE else 403
    status = _page_and_api(member_of_a, PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert status == (expected, expected)


def _client_ip(peer: str, forwarded: str) -> str | None:
    return network.client_ip(
        RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    )


def test_A12_an_ipv4_mapped_proxy_is_the_ipv4_proxy_it_carries(trusted_proxies):
    assert _client_ip("::ffff:10.1.1.1", f"::ffff:{IN_OFFICE}, 10.0.0.3") == IN_OFFICE


def test_A12_forwarded_for_is_walked_at_most_16_hops(trusted_proxies):
    proxies = ", ".join(["10.0.0.3"] * 15)
    assert _client_ip(PROXY, f"{IN_OFFICE}, {proxies}") == IN_OFFICE
    # Beyond the bound nothing is believed: the peer stands for the client.
    assert _client_ip(PROXY, f"{IN_OFFICE}, 10.0.0.4, {proxies}") == PROXY


@pytest.mark.parametrize("peer", ["", "not-an-address", "1" * 10_000, FULLWIDTH_IN_OFFICE])
def test_A12_an_unknown_client_address_is_refused_by_an_allowlist(org_a, member_of_a, peer):
    _allow(org_a, OFFICE)
    assert _page_and_api(member_of_a, peer) == (403, 403)
    [event, _] = _events(org_a, "ip_allowlist.request_refused")
    assert event.ip == ""


# --- Sign-in ------------------------------------------------------------------------------


def _sign_in(ip: str, user, follow: bool = False):
    client = _client(ip=ip)
    response = client.post(
        "/accounts/login/", {"username": user.email, "password": TEST_PASSWORD}, follow=follow
    )
    return client, response


def test_A12_sign_in_is_refused_when_every_organisation_refuses(org_a, member_of_a):
    _allow(org_a, OFFICE)
    client, response = _sign_in(OUTSIDE, member_of_a, follow=True)
    assert response.redirect_chain == [("/accounts/login/", 302)]
    page = html.unescape(response.content.decode())
    assert SIGN_IN_REFUSED in page
    assert OFFICE not in page
    assert not is_signed_in(client)
    [refused] = _events(org_a, "auth.sign_in_refused")
    assert refused.changes == {"reason": [None, "ip_allowlist"]}
    assert (refused.actor_id, refused.ip) == (str(member_of_a.pk), OUTSIDE)
    assert _events(org_a, "auth.signed_in") == []

    client, response = _sign_in(IN_OFFICE, member_of_a)
    assert response.status_code == 302 and is_signed_in(client)


def test_A12_wrong_password_from_outside_says_only_that(org_a, member_of_a):
    _allow(org_a, OFFICE)
    response = _client(ip=OUTSIDE).post(
        "/accounts/login/", {"username": member_of_a.email, "password": "wrong"}
    )
    assert response.status_code == 200
    assert b"Please enter a correct email and password." in response.content
    assert SIGN_IN_REFUSED.encode() not in response.content
    assert _events(org_a, "auth.sign_in_refused") == []


def test_A12_one_allowing_organisation_signs_in_the_others_answer_403(org_a, org_b, member_of_a):
    make_membership(org_b, member_of_a)
    _allow(org_a, OFFICE)
    _allow(org_b, "192.0.2.0/24")
    client, response = _sign_in("192.0.2.50", member_of_a)
    assert response.status_code == 302 and is_signed_in(client)
    assert client.get("/o/bravo/sites/").status_code == 200
    assert client.get(SITES_PAGE).status_code == 403
    assert client.get(SITES_API).status_code == 403


def test_A12_sign_in_refusal_comes_only_after_the_second_factor(org_a, member_of_a):
    setup = _client(member_of_a)
    app, _ = enrol_totp(setup)
    _allow(org_a, OFFICE)
    client, password_step = _sign_in(OUTSIDE, member_of_a)
    # The password alone learns nothing about the network rule.
    assert password_step["Location"] == SECOND_FACTOR_PAGE
    assert _events(org_a, "auth.sign_in_refused") == []
    refused = verify(client, "totp", next_step_code(app))
    assert refused.status_code == 302 and refused["Location"] == "/accounts/login/"
    assert not is_signed_in(client)
    assert "palisade_sign_in" not in client.cookies or not client.cookies["palisade_sign_in"].value
    assert len(_events(org_a, "auth.sign_in_refused")) == 1
    # The pending sign-in is over: the second-factor page cannot be retried.
    assert client.get(SECOND_FACTOR_PAGE)["Location"] == "/accounts/login/"


def test_A12_token_mode_sign_in_and_bearer_calls_follow_the_same_rule(org_a, member_of_a):
    _allow(org_a, OFFICE)
    body = {"email": member_of_a.email, "password": TEST_PASSWORD}
    refused = _json(_client(ip=OUTSIDE), "post", TOKEN_SIGN_IN, body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "network_refused"
    assert "access" not in refused.json() and refused.cookies[REFRESH_COOKIE].value == ""
    assert len(_events(org_a, "auth.sign_in_refused")) == 1

    access = _json(_client(ip=IN_OFFICE), "post", TOKEN_SIGN_IN, body).json()["access"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
    assert _client(ip=IN_OFFICE).get(SITES_API, **bearer).status_code == 200
    assert _client(ip=OUTSIDE).get(SITES_API, **bearer).status_code == 403


def test_A12_api_tokens_are_held_to_the_allowlist_and_audited_as_themselves(org_a, owner):
    _allow(org_a, OFFICE)
    with tenant_context(org_a):
        issued = api_token_create(
            owner=owner,
            name="CI",
            scopes=["sites:read", "ip_allowlist:read"],
            expires_at=timezone.now() + timedelta(days=30),
            second_factor_verified=False,
        )
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {issued.token}"}
    assert _client(ip=IN_OFFICE).get(SITES_API, **bearer).status_code == 200
    assert _client(ip=IN_OFFICE).get(ALLOWLIST, **bearer).status_code == 200
    unscoped = _json(_client(ip=IN_OFFICE), "put", ALLOWLIST, {"entries": []}, **bearer)
    assert unscoped.json()["code"] == "insufficient_scope"
    assert _client(ip=OUTSIDE).get(SITES_API, **bearer).json()["code"] == "ip_not_allowed"
    # An owner's token is not an owner at the keyboard: no break-glass from outside.
    glass = _client(ip=OUTSIDE).post(BREAK_GLASS, {"reason": REASON}, **bearer)
    assert glass.status_code == 403
    assert _events(org_a, "ip_allowlist.break_glass") == []
    [refused, *_] = _events(org_a, "ip_allowlist.request_refused")
    assert (refused.actor_type, refused.actor_id) == ("api_token", str(issued.api_token.pk))


def test_A12_locked_out_owner_signs_in_and_breaks_the_glass_from_the_page(
    org_a, owner, member_of_a, django_capture_on_commit_callbacks
):
    _allow(org_a, OFFICE)
    client, response = _sign_in(OUTSIDE, owner)
    assert response.status_code == 302 and is_signed_in(client)
    page = client.get(SITES_PAGE)
    assert page.status_code == 403
    assert b"Suspend the IP allowlist" in page.content
    assert client.get(ALLOWLIST).status_code == 403
    too_short = client.post(BREAK_GLASS_PAGE, {"reason": "locked out"})
    assert too_short.status_code == 400
    assert b"State why" in too_short.content
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(BREAK_GLASS_PAGE, {"reason": REASON})
    assert done.status_code == 302 and done["Location"] == "/o/alpha/"
    assert client.get(SITES_PAGE).status_code == 200
    assert _page_and_api(member_of_a, OUTSIDE) == (200, 200)
    [event] = _events(org_a, "ip_allowlist.break_glass")
    assert event.changes["reason"] == [None, REASON]
    assert [message.to for message in mail.outbox] == [[owner.email]]


# --- Changes and the lockout guard --------------------------------------------------------


def test_A12_lockout_guard_refuses_changes_that_shut_the_admin_out(org_a, admin):
    client = _client(admin, IN_OFFICE)
    other = "192.0.2.0/24"
    refused = _json(client, "post", ALLOWLIST, {"cidr": other})
    assert refused.status_code == 400
    assert refused.json() == {
        "non_field_errors": [
            f"This change would lock you out: your address ({IN_OFFICE}) would no longer be "
            "allowed. Add a network that includes it first."
        ]
    }
    assert _entries(org_a) == []
    office = _json(client, "post", ALLOWLIST, {"cidr": OFFICE, "label": "Head office"})
    assert office.status_code == 201
    assert office.json()["created_by"] == admin.email
    assert _json(client, "post", ALLOWLIST, {"cidr": other}).status_code == 201
    office_id, other_id = (entry["id"] for entry in client.get(ALLOWLIST).json()["entries"])

    assert client.delete(f"{ALLOWLIST}{office_id}/").status_code == 400
    assert _json(client, "put", ALLOWLIST, {"entries": [{"cidr": other}]}).status_code == 400
    assert _entries(org_a) == [OFFICE, other]

    assert client.delete(f"{ALLOWLIST}{other_id}/").status_code == 204
    assert client.delete(f"{ALLOWLIST}{other_id}/").status_code == 404
    lifted = _json(client, "put", ALLOWLIST, {"entries": []})
    assert lifted.status_code == 200
    assert lifted.json() == {
        "enforced": False,
        "suspended_at": None,
        "your_ip": IN_OFFICE,
        "entries": [],
    }

    added = _events(org_a, "ip_allowlist.entry_added")
    assert [event.changes["cidr"] for event in added] == [[None, OFFICE], [None, other]]
    assert added[0].changes["label"] == [None, "Head office"]
    [removed] = _events(org_a, "ip_allowlist.entry_removed")
    assert removed.changes["cidr"] == [other, None]
    [replaced] = _events(org_a, "ip_allowlist.replaced")
    assert replaced.changes == {"entries": [[{"cidr": OFFICE, "label": "Head office"}], []]}


def test_A12_lockout_guard_uses_the_address_behind_a_trusted_proxy(org_a, admin, trusted_proxies):
    client = _client(admin, PROXY)
    behind = {"HTTP_X_FORWARDED_FOR": IN_OFFICE}
    assert _json(client, "post", ALLOWLIST, {"cidr": "10.0.0.0/8"}, **behind).status_code == 400
    assert _json(client, "post", ALLOWLIST, {"cidr": OFFICE}, **behind).status_code == 201


def test_A12_another_organisation_entry_is_404(org_a, org_b, admin):
    _allow(org_b, "192.0.2.0/24")
    with tenant_context(org_b):
        foreign = IpAllowlistEntry.objects.get()
    assert _client(admin).delete(f"{ALLOWLIST}{foreign.pk}/").status_code == 404
    assert _entries(org_b) == ["192.0.2.0/24"]


@pytest.mark.parametrize("role", [Membership.Role.STAFF, Membership.Role.MANAGER])
def test_A12_lower_roles_cannot_read_or_change_the_allowlist(org_a, role):
    _allow(org_a, OFFICE)
    client = _client(_member(org_a, "lower@alpha.example", role))
    assert client.get(ALLOWLIST).status_code == 403
    assert _json(client, "post", ALLOWLIST, {"cidr": "192.0.2.0/24"}).status_code == 403
    assert _json(client, "put", ALLOWLIST, {"entries": []}).status_code == 403
    assert _json(client, "post", BREAK_GLASS, {"reason": REASON}).status_code == 403
    assert client.post(BREAK_GLASS_PAGE, {"reason": REASON}).status_code == 403
    assert _entries(org_a) == [OFFICE]
    assert len(_events(org_a, "access.denied")) == 5


# --- Break-glass --------------------------------------------------------------------------


def test_A12_break_glass_suspends_is_audited_and_emailed_to_every_owner(
    org_a, owner, admin, member_of_a, django_capture_on_commit_callbacks
):
    second_owner = _member(org_a, "otto@alpha.example", Membership.Role.OWNER)
    _allow(org_a, OFFICE)
    client = _client(owner, OUTSIDE)
    assert _json(client, "post", BREAK_GLASS, {"reason": "help"}).status_code == 400
    assert _json(client, "post", BREAK_GLASS, {"reason": "x" * 10_000}).status_code == 400
    assert _json(_client(admin), "post", BREAK_GLASS, {"reason": REASON}).status_code == 403
    assert (
        _json(_client(admin, OUTSIDE), "post", BREAK_GLASS, {"reason": REASON}).json()["code"]
        == "ip_not_allowed"
    )
    assert _json(client, "get", BREAK_GLASS).status_code == 403  # only its POST is let through

    with django_capture_on_commit_callbacks(execute=True):
        response = _json(client, "post", BREAK_GLASS, {"reason": REASON})
    assert response.status_code == 200
    assert response.json()["enforced"] is False
    assert response.json()["entries"][0]["cidr"] == OFFICE  # kept for the resume

    [event] = _events(org_a, "ip_allowlist.break_glass")
    assert (event.actor_id, event.actor_role, event.ip) == (str(owner.pk), "owner", OUTSIDE)
    assert event.changes["reason"] == [None, REASON]
    assert event.changes["entries_kept"] == [None, 1]
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [owner.email, second_owner.email]
    )
    message = mail.outbox[0]
    assert "Alpha Guarding" in message.subject and "break-glass" in message.subject
    assert REASON in message.body and owner.email in message.body and OUTSIDE in message.body

    assert _page_and_api(member_of_a, OUTSIDE) == (200, 200)
    again = _json(client, "post", BREAK_GLASS, {"reason": REASON})
    assert again.status_code == 400 and "already suspended" in again.content.decode()


def test_A12_resume_goes_through_the_lockout_guard(org_a, owner, admin, member_of_a):
    _allow(org_a, OFFICE)
    assert (
        _json(_client(owner, OUTSIDE), "post", BREAK_GLASS, {"reason": REASON}).status_code == 200
    )
    assert _json(_client(owner, OUTSIDE), "post", RESUME).status_code == 400
    resumed = _json(_client(admin, IN_OFFICE), "post", RESUME)
    assert resumed.status_code == 200 and resumed.json()["enforced"] is True
    assert _page_and_api(member_of_a, OUTSIDE) == (403, 403)
    [event] = _events(org_a, "ip_allowlist.resumed")
    assert event.changes["ip_allowlist_suspended_at"][1] is None
    with tenant_context(org_a):
        assert SecurityPolicy.objects.get().ip_allowlist_suspended_at is None


def test_A12_break_glass_needs_a_recent_second_factor(org_a, owner):
    enrol_totp(_client(owner))
    _allow(org_a, OFFICE)
    unverified = _client(owner, OUTSIDE)  # a session without a fresh second factor
    response = _json(unverified, "post", BREAK_GLASS, {"reason": REASON})
    assert response.status_code == 403
    assert response.json()["code"] == "step_up_required"
    page = unverified.post(BREAK_GLASS_PAGE, {"reason": REASON})
    assert page.status_code == 302
    assert page["Location"].startswith("/account/security/verify/?next=")
    assert _events(org_a, "ip_allowlist.break_glass") == []


def test_A12_nothing_to_suspend_without_entries(org_a, owner):
    response = _json(_client(owner), "post", BREAK_GLASS, {"reason": REASON})
    assert response.status_code == 400
    assert "no allowlist to suspend" in response.content.decode()


def test_A12_a_new_organisation_has_no_allowlist(member_of_a):
    org = make_organization("Charlie Cleaning", "charlie")
    make_membership(org, member_of_a)
    assert _client(member_of_a, OUTSIDE).get("/o/charlie/sites/").status_code == 200
