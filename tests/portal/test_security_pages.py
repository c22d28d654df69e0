"""The organisation security settings pages: the second-factor rule (A4), session timeouts
(A9), the IP allowlist (A12) and API tokens (A17). Each change goes through its service and
is audited; refusals are 400s with the service's message and nothing saved; members without
the permission get 403, other organisations 404; a new token is shown once."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.ip_allowlist import EntryInput, ip_allowlist_replace
from tenants.models import (
    MAX_ABSOLUTE_TIMEOUT_HOURS,
    IpAllowlistEntry,
    SecurityPolicy,
    max_idle_timeout_minutes,
)
from tenants.services import security_policy_update
from tests.factories import make_membership, make_organization, make_user
from tests.portal.conftest import assert_csp_clean
from tokens.format import TOKEN_PATTERN
from tokens.models import ApiToken
from tokens.services.api_tokens import api_token_create

pytestmark = pytest.mark.django_db

ORG = "/o/alpha"
SECURITY = f"{ORG}/settings/security/"
SECOND_FACTOR = f"{SECURITY}second-factor/"
TIMEOUTS = f"{SECURITY}session-timeouts/"
ALLOWLIST = f"{SECURITY}ip-allowlist/"
TOKENS = f"{ORG}/settings/api-tokens/"
OFFICE = "203.0.113.0/24"
IN_OFFICE = "203.0.113.9"
HOME = "198.51.100.0/24"
REQUIRED = SecurityPolicy.SecondFactorRequirement.ALL


def _client(world, role: str, ip: str = IN_OFFICE) -> Client:
    client = world.client(role)
    client.defaults["REMOTE_ADDR"] = ip
    return client


def _admin(world) -> Client:
    user = make_user("adam@alpha.example")
    make_membership(world.org, user, role="admin")
    client = Client(HTTP_HOST=settings.PORTAL_HOST, REMOTE_ADDR=IN_OFFICE)
    client.force_login(user)
    return client


def _outsider() -> Client:
    """The owner of another organisation, signed in."""
    bravo = make_organization("Bravo Care", "bravo")
    user = make_user("bob@bravo.example")
    make_membership(bravo, user, role="owner")
    client = Client(HTTP_HOST=settings.PORTAL_HOST, REMOTE_ADDR=IN_OFFICE)
    client.force_login(user)
    return client


def _events(org, action: str) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _policy(org) -> SecurityPolicy:
    with tenant_context(org):
        return SecurityPolicy.objects.get()


def _entries(org) -> list[tuple[str, str]]:
    with tenant_context(org):
        return list(IpAllowlistEntry.objects.order_by("id").values_list("cidr", "label"))


def _allow(org, *cidrs: str) -> list[IpAllowlistEntry]:
    with tenant_context(org):
        return ip_allowlist_replace(
            entries=[EntryInput(cidr=cidr, label="Seeded") for cidr in cidrs],
            created_by=None,
            actor_ip=IN_OFFICE,
        )


def _token(org, user, name: str = "CI") -> ApiToken:
    with tenant_context(org):
        return api_token_create(
            owner=user,
            name=name,
            scopes=["sites:read"],
            expires_at=timezone.now() + timedelta(days=30),
            second_factor_verified=False,
        ).api_token


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")


def _page(response) -> str:
    return html.unescape(response.content.decode())


# --- who may see and change the settings (Z1) ---------------------------------------------


def test_A9_the_overview_shows_every_setting_and_its_forms_to_owners(world):
    response = _client(world, "owner").get(SECURITY)
    assert response.status_code == 200
    assert_csp_clean(response)
    page = _page(response)
    for text in ("Not required", "30 minutes", "12 hours", "Your address: " + IN_OFFICE):
        assert text in page.replace("<strong>", "").replace("</strong>", "")
    for action in (SECOND_FACTOR, TIMEOUTS, ALLOWLIST):
        assert f'action="{action}"' in page
    # Nothing listed: the empty state says what that means and what to do.
    assert "members can work from anywhere" in page and "Add your office" in page
    assert f'href="{ORG}/settings/sessions/"' in page
    assert f'href="{TOKENS}"' in page


def test_A9_a_role_that_may_only_view_sees_values_and_no_forms_and_cannot_post(world):
    [entry] = _allow(world.org, OFFICE)
    auditor = _client(world, "auditor")
    response = auditor.get(SECURITY)
    assert response.status_code == 200
    assert_csp_clean(response)
    page = _page(response)
    assert "30 minutes" in page and OFFICE in page
    assert '<form method="post" action="/o/alpha/settings/security' not in page
    assert "Remove" not in page
    for path, data in (
        (TIMEOUTS, {"idle_timeout_minutes": 5, "absolute_timeout_hours": 1}),
        (SECOND_FACTOR, {"second_factor_required": "all"}),
        (ALLOWLIST, {"cidr": HOME}),
        (f"{ALLOWLIST}{entry.pk}/remove/", {}),
    ):
        assert auditor.post(path, data).status_code == 403, path
    assert _policy(world.org).idle_timeout_minutes == 30
    assert _entries(world.org) == [(OFFICE, "Seeded")]
    assert _events(world.org, "security_policy.updated") == []


def test_A9_roles_without_settings_view_get_403_and_change_nothing(world):
    for role in ("staff", "manager", "client"):
        client = _client(world, role)
        assert client.get(SECURITY).status_code == 403, role
        data = {"idle_timeout_minutes": 5, "absolute_timeout_hours": 1}
        assert client.post(TIMEOUTS, data).status_code == 403, role
    assert _policy(world.org).idle_timeout_minutes == 30


def test_A9_another_organisations_member_gets_404(world):
    outsider = _outsider()
    assert outsider.get(SECURITY).status_code == 404
    data = {"idle_timeout_minutes": 5, "absolute_timeout_hours": 1}
    assert outsider.post(TIMEOUTS, data).status_code == 404
    assert _policy(world.org).idle_timeout_minutes == 30


def test_A9_navigation_links_security_for_settings_view_and_api_tokens_for_token_holders(
    world,
):
    owner = _page(_client(world, "owner").get(f"{ORG}/leave/"))
    assert f'href="{SECURITY}"' in owner and f'href="{TOKENS}"' in owner
    staff = _page(_client(world, "staff").get(f"{ORG}/leave/"))
    assert f'href="{SECURITY}"' not in staff and f'href="{TOKENS}"' in staff


# --- session timeouts (A9) ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_A9_owners_and_admins_change_the_timeouts_and_the_change_is_audited(world, role):
    client = _admin(world) if role == "admin" else _client(world, "owner")
    response = client.post(TIMEOUTS, {"idle_timeout_minutes": 15, "absolute_timeout_hours": 8})
    assert response.status_code == 302 and response.url == SECURITY
    policy = _policy(world.org)
    assert (policy.idle_timeout_minutes, policy.absolute_timeout_hours) == (15, 8)
    [event] = _events(world.org, "security_policy.updated")
    assert event.changes == {"idle_timeout_minutes": [30, 15], "absolute_timeout_hours": [12, 8]}
    page = client.get(SECURITY)
    assert "The session timeouts were saved" in _page(page)
    assert "15 minutes" in _page(page)


def test_A9_saving_unchanged_timeouts_records_nothing(world):
    owner = _client(world, "owner")
    response = owner.post(TIMEOUTS, {"idle_timeout_minutes": 30, "absolute_timeout_hours": 12})
    assert response.status_code == 302
    assert "Nothing changed" in _page(owner.get(SECURITY))
    assert _events(world.org, "security_policy.updated") == []


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"idle_timeout_minutes": 0, "absolute_timeout_hours": 12}, "greater than or equal to 1"),
        (
            {"idle_timeout_minutes": max_idle_timeout_minutes() + 1, "absolute_timeout_hours": 12},
            f"less than or equal to {max_idle_timeout_minutes()}",
        ),
        (
            {"idle_timeout_minutes": 30, "absolute_timeout_hours": MAX_ABSOLUTE_TIMEOUT_HOURS + 1},
            f"less than or equal to {MAX_ABSOLUTE_TIMEOUT_HOURS}",
        ),
        ({"idle_timeout_minutes": "ten", "absolute_timeout_hours": 12}, "Enter a whole number"),
        ({"idle_timeout_minutes": 99999999999999, "absolute_timeout_hours": 12}, "less than"),
        ({"absolute_timeout_hours": 12}, "This field is required"),
    ],
)
def test_A9_timeouts_out_of_range_are_a_400_with_the_reason_and_nothing_saved(world, data, says):
    response = _client(world, "owner").post(TIMEOUTS, data)
    assert response.status_code == 400
    assert_csp_clean(response)
    assert says in _page(response)
    assert 'role="alert"' in response.content.decode()
    policy = _policy(world.org)
    assert (policy.idle_timeout_minutes, policy.absolute_timeout_hours) == (30, 12)
    assert _events(world.org, "security_policy.updated") == []


# --- second-factor rule (A4) --------------------------------------------------------------


def test_A4_an_owner_requires_a_second_factor_with_a_grace_period(world):
    grace = (timezone.now() + timedelta(days=14)).replace(microsecond=0)
    response = _client(world, "owner").post(
        SECOND_FACTOR, {"second_factor_required": "all", "second_factor_grace_until": _local(grace)}
    )
    assert response.status_code == 302
    policy = _policy(world.org)
    assert (policy.second_factor_required, policy.second_factor_grace_until) == (REQUIRED, grace)
    [event] = _events(world.org, "security_policy.updated")
    assert event.changes["second_factor_required"] == ["none", "all"]
    page = _page(_client(world, "owner").get(SECURITY))
    assert "Required for every member" in page and grace.strftime("%-d %b %Y") in page


def test_A4_extending_the_grace_period_needs_a_stated_reason(world):
    soon = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    with tenant_context(world.org):
        security_policy_update(second_factor_required=REQUIRED, second_factor_grace_until=soon)
    owner = _client(world, "owner")
    later = _local(soon + timedelta(days=7))
    refused = owner.post(
        SECOND_FACTOR, {"second_factor_required": "all", "second_factor_grace_until": later}
    )
    assert refused.status_code == 400
    assert_csp_clean(refused)
    assert "Extending the grace period needs a stated reason." in _page(refused)
    assert _policy(world.org).second_factor_grace_until == soon
    reason = "Board agreed two more weeks for the rollout"
    done = owner.post(
        SECOND_FACTOR,
        {"second_factor_required": "all", "second_factor_grace_until": later, "reason": reason},
    )
    assert done.status_code == 302
    assert _policy(world.org).second_factor_grace_until == soon + timedelta(days=7)
    assert _events(world.org, "security_policy.updated")[-1].changes["reason"] == [None, reason]


def test_A4_resaving_the_rule_unchanged_keeps_the_grace_period_and_records_nothing(world):
    soon = timezone.now() + timedelta(days=7)  # with microseconds, as the API may set it
    with tenant_context(world.org):
        security_policy_update(second_factor_required=REQUIRED, second_factor_grace_until=soon)
    owner = _client(world, "owner")
    form = _page(owner.get(SECURITY))
    assert f'value="{_local(soon)}"' in form
    response = owner.post(
        SECOND_FACTOR, {"second_factor_required": "all", "second_factor_grace_until": _local(soon)}
    )
    assert response.status_code == 302
    assert _policy(world.org).second_factor_grace_until == soon
    assert len(_events(world.org, "security_policy.updated")) == 1  # the setup's


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"second_factor_required": "sometimes"}, "Select a valid choice"),
        (
            {"second_factor_required": "all", "second_factor_grace_until": "next week"},
            "Enter a valid date/time",
        ),
    ],
)
def test_A4_a_bad_rule_is_a_400_and_nothing_saved(world, data, says):
    response = _client(world, "owner").post(SECOND_FACTOR, data)
    assert response.status_code == 400 and says in _page(response)
    assert _policy(world.org).second_factor_required == "none"
    assert _events(world.org, "security_policy.updated") == []


# --- IP allowlist (A12) -------------------------------------------------------------------


def test_A12_an_admin_adds_and_removes_a_network_and_both_are_audited(world):
    admin = _admin(world)
    added = admin.post(ALLOWLIST, {"cidr": OFFICE, "label": "Head office"})
    assert added.status_code == 302 and added.url == SECURITY
    assert _entries(world.org) == [(OFFICE, "Head office")]
    [event] = _events(world.org, "ip_allowlist.entry_added")
    assert event.changes == {"cidr": [None, OFFICE], "label": [None, "Head office"]}
    page = admin.get(SECURITY)
    assert_csp_clean(page)
    text = _page(page)
    assert f"{OFFICE} was added" in text and "adam@alpha.example" in text
    assert "Members can work only from these networks." in text
    with tenant_context(world.org):
        entry = IpAllowlistEntry.objects.get()
    removed = admin.post(f"{ALLOWLIST}{entry.pk}/remove/")
    assert removed.status_code == 302
    assert _entries(world.org) == []
    assert _events(world.org, "ip_allowlist.entry_removed")[0].changes["cidr"] == [OFFICE, None]


def test_A12_a_change_that_would_lock_the_admin_out_is_refused_with_the_reason(world):
    owner = _client(world, "owner")
    refused = owner.post(ALLOWLIST, {"cidr": HOME})
    assert refused.status_code == 400
    assert_csp_clean(refused)
    assert "This change would lock you out: your address (203.0.113.9)" in _page(refused)
    assert _entries(world.org) == []
    office, _home = _allow(world.org, OFFICE, HOME)
    refused = owner.post(f"{ALLOWLIST}{office.pk}/remove/")
    assert refused.status_code == 400
    assert "This change would lock you out" in _page(refused)
    assert [cidr for cidr, _ in _entries(world.org)] == [OFFICE, HOME]
    assert _events(world.org, "ip_allowlist.entry_removed") == []


@pytest.mark.parametrize(
    ("cidr", "says"),
    [
        ("not-a-network", "Enter an IPv4 or IPv6 address or network in CIDR notation"),
        ("203.0.113.9/24", "write the network as 203.0.113.0/24"),
        ("203.0.113.0/24\x00", "Null characters are not allowed."),
        ("1" * 100, "at most 50 characters"),
        ("", "This field is required."),
    ],
)
def test_A12_an_invalid_network_is_a_400_with_the_reason_and_nothing_saved(world, cidr, says):
    response = _client(world, "owner").post(ALLOWLIST, {"cidr": cidr, "label": "Office"})
    assert response.status_code == 400
    assert says in _page(response)
    assert _entries(world.org) == []
    assert _events(world.org, "ip_allowlist.entry_added") == []


def test_A12_a_very_large_network_is_added_only_once_confirmed(world):
    owner = _client(world, "owner", ip="8.8.8.8")
    assert 'name="confirm_broad"' not in _page(owner.get(SECURITY))
    asked = owner.post(ALLOWLIST, {"cidr": "8.0.0.0/7"})
    assert asked.status_code == 400
    page = _page(asked)
    assert "covers a very large part of the Internet" in page
    assert 'name="confirm_broad"' in page and "allow this very large network" in page
    assert _entries(world.org) == []
    confirmed = owner.post(ALLOWLIST, {"cidr": "8.0.0.0/7", "confirm_broad": "on"})
    assert confirmed.status_code == 302
    assert _entries(world.org) == [("8.0.0.0/7", "")]


def test_A12_a_label_with_html_is_stored_as_typed_and_rendered_escaped(world):
    owner = _client(world, "owner")
    label = '<script>alert("x")</script><b onclick="y">'
    assert owner.post(ALLOWLIST, {"cidr": OFFICE, "label": label}).status_code == 302
    assert _entries(world.org) == [(OFFICE, label)]
    page = owner.get(SECURITY)
    assert_csp_clean(page)
    assert label not in page.content.decode()
    assert html.escape(label) in page.content.decode()


def test_A12_another_organisation_cannot_remove_an_entry_by_its_id(world):
    [entry] = _allow(world.org, OFFICE)
    outsider = _outsider()
    # Through their own organisation: RLS hides the row, so it is not found.
    assert (
        outsider.post(f"/o/bravo/settings/security/ip-allowlist/{entry.pk}/remove/").status_code
        == 404
    )
    # Through this one: not a member.
    assert outsider.post(f"{ALLOWLIST}{entry.pk}/remove/").status_code == 404
    assert _entries(world.org) == [(OFFICE, "Seeded")]


def test_A12_a_suspended_allowlist_is_shown_and_resumed_through_the_lockout_guard(world):
    _allow(world.org, OFFICE)
    with tenant_context(world.org):
        SecurityPolicy.objects.update(ip_allowlist_suspended_at=timezone.now())
    outside = _client(world, "owner", ip="192.0.2.1")
    page = outside.get(SECURITY)
    assert "Suspended since" in _page(page)
    refused = outside.post(f"{ALLOWLIST}resume/")
    assert refused.status_code == 400 and "lock you out" in _page(refused)
    assert _policy(world.org).ip_allowlist_suspended_at is not None
    assert _client(world, "owner").post(f"{ALLOWLIST}resume/").status_code == 302
    assert _policy(world.org).ip_allowlist_suspended_at is None
    assert len(_events(world.org, "ip_allowlist.resumed")) == 1


def test_A12_the_overview_costs_the_same_queries_for_few_and_many_entries(world):
    owner = _client(world, "owner")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner.get(SECURITY).status_code == 200
        return len(captured)

    _allow(world.org, OFFICE, *(f"10.0.{i}.0/24" for i in range(2)))
    few = queries()
    _allow(world.org, OFFICE, *(f"10.0.{i}.0/24" for i in range(60)))
    assert queries() == few


# --- API tokens (A17) ---------------------------------------------------------------------


def _new_token(expires_at=None, **data) -> dict:
    expires_at = expires_at or timezone.now() + timedelta(days=30)
    return {
        "name": "Payroll export",
        "scopes": ["sites:read", "shifts:read"],
        "expires_at": _local(expires_at),
        **data,
    }


def test_A17_a_new_token_is_shown_once_in_the_answer_and_never_again(world):
    staff = _client(world, "staff")
    form = staff.get(TOKENS)
    assert form.status_code == 200
    assert_csp_clean(form)
    assert "No API tokens yet." in _page(form)
    created = staff.post(TOKENS, _new_token())
    assert created.status_code == 201
    assert_csp_clean(created)
    assert "no-store" in created.headers["Cache-Control"]
    body = created.content.decode()
    [token] = [match.group(0) for match in TOKEN_PATTERN.finditer(body)]
    assert body.count(token) == 1
    with tenant_context(world.org):
        stored = ApiToken.objects.get()
    assert (stored.name, stored.scopes, stored.owner_id) == (
        "Payroll export",
        ["shifts:read", "sites:read"],
        world.users["staff"].pk,
    )
    [event] = _events(world.org, "api_token.created")
    assert event.changes["scopes"] == [None, ["shifts:read", "sites:read"]]
    later = staff.get(TOKENS).content.decode()
    assert token not in later and stored.hint in later and "Payroll export" in later
    assert token[: len(stored.hint) + 1] not in later  # not even one character past the hint


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"scopes": []}, "Give the token at least one scope."),
        ({"scopes": ["sites:read", "everything:write"]}, "Select a valid choice"),
        ({"name": ""}, "This field is required."),
        ({"expires_at": "soon"}, "Enter a valid date/time."),
    ],
)
def test_A17_a_malformed_token_request_is_a_400_and_creates_nothing(world, change, says):
    response = _client(world, "staff").post(TOKENS, {**_new_token(), **change})
    assert response.status_code == 400 and says in _page(response)
    assert not TOKEN_PATTERN.search(response.content.decode())
    assert _events(world.org, "api_token.created") == []


@pytest.mark.parametrize(
    ("expires_in", "says"),
    [
        (timedelta(days=-1), "The expiry must be in the future."),
        (timedelta(days=91), "This organisation allows API tokens of at most 90 days."),
    ],
)
def test_A17_the_expiry_is_held_to_the_organisations_limit(world, expires_in, says):
    response = _client(world, "staff").post(
        TOKENS, _new_token(expires_at=timezone.now() + expires_in)
    )
    assert response.status_code == 400
    assert_csp_clean(response)
    assert says in _page(response)
    assert _events(world.org, "api_token.created") == []


def test_A17_members_see_their_own_tokens_and_owners_every_token(world):
    _token(world.org, world.users["staff"], "Staff script")
    _token(world.org, world.users["manager"], "Manager script")
    staff = _page(_client(world, "staff").get(TOKENS))
    assert "Staff script" in staff and "Manager script" not in staff
    owner = _page(_client(world, "owner").get(TOKENS))
    assert "Staff script" in owner and "Manager script" in owner
    assert "staff@alpha.example" in owner


def test_A17_a_member_revokes_their_own_token_and_it_is_audited(world):
    token = _token(world.org, world.users["staff"])
    staff = _client(world, "staff")
    response = staff.post(f"{TOKENS}{token.pk}/revoke/")
    assert response.status_code == 302 and response.url == TOKENS
    with tenant_context(world.org):
        token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by_id == world.users["staff"].pk
    assert len(_events(world.org, "api_token.revoked")) == 1
    page = _page(staff.get(TOKENS))
    assert "The token “CI” was revoked." in page and "Revoked" in page
    assert f"{TOKENS}{token.pk}/revoke/" not in page


def test_A17_nobody_but_its_owner_and_the_organisations_owners_can_revoke_a_token(world):
    token = _token(world.org, world.users["staff"])
    assert _client(world, "south_staff").post(f"{TOKENS}{token.pk}/revoke/").status_code == 404
    assert _client(world, "manager").post(f"{TOKENS}{token.pk}/revoke/").status_code == 404
    # A client's contact holds no api_token permission at all.
    assert _client(world, "client").post(f"{TOKENS}{token.pk}/revoke/").status_code == 403
    outsider = _outsider()
    assert outsider.post(f"/o/bravo/settings/api-tokens/{token.pk}/revoke/").status_code == 404
    assert outsider.post(f"{TOKENS}{token.pk}/revoke/").status_code == 404
    assert _events(world.org, "api_token.revoked") == []
    assert _client(world, "owner").post(f"{TOKENS}{token.pk}/revoke/").status_code == 302
    assert len(_events(world.org, "api_token.revoked")) == 1


def test_A17_the_token_page_refuses_roles_without_api_token_permissions(world):
    client = _client(world, "client")
    assert client.get(TOKENS).status_code == 403
    assert client.post(TOKENS, _new_token()).status_code == 403
    assert _events(world.org, "api_token.created") == []


def test_A17_the_token_list_costs_the_same_queries_for_few_and_many_tokens(world):
    owner = _client(world, "owner")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner.get(TOKENS).status_code == 200
        return len(captured)

    for role in ("staff", "manager"):
        _token(world.org, world.users[role])
    few = queries()
    for n in range(20):
        _token(world.org, world.users[("staff", "manager", "auditor")[n % 3]], f"Script {n}")
    assert queries() == few


def test_A17_a_token_name_with_html_is_rendered_escaped(world):
    name = '<img src=x onerror="alert(1)">'
    owner = _client(world, "owner")
    created = owner.post(TOKENS, _new_token(name=name))
    assert created.status_code == 201
    for response in (created, owner.get(TOKENS)):
        assert_csp_clean(response)
        body = response.content.decode()
        assert name not in body and html.escape(name) in body


def test_Z1_the_pages_answer_head_and_the_overview_takes_no_writes_of_its_own(world):
    owner = _client(world, "owner")
    assert owner.head(SECURITY).status_code == 200
    assert owner.head(TOKENS).status_code == 200
    response = owner.post(SECURITY, {"idle_timeout_minutes": 5})
    assert response.status_code == 405
    assert _policy(world.org).idle_timeout_minutes == 30
