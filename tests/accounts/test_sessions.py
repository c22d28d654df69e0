"""A7, A9, A10 in one process: session keys, the session list, ending and revoking sessions,
idle and absolute limits, and what a dead or forged cookie gets."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User, UserSession
from accounts.services import password_change, user_deactivate
from accounts.sessions.store import key_digest
from accounts.tasks import end_lapsed_sessions
from tenants.context import tenant_context
from tenants.models import Membership
from tenants.services import (
    guest_access_grant,
    guest_access_revoke,
    membership_change_role,
    security_policy_update,
)
from tests.accounts.sessions_helpers import (
    FIREFOX_ON_LINUX,
    browser,
    events,
    record_of,
    session_key,
    sign_in_through_page,
    signed_in_browser,
)
from tests.factories import TEST_PASSWORD, make_membership, make_user

pytestmark = pytest.mark.django_db

EndReason = UserSession.EndReason
SITES_API = "/api/v1/o/alpha/sites/"
SITES_PAGE = "/o/alpha/sites/"


@pytest.fixture
def admin_of_a(org_a):
    user = make_user("ada@alpha.example")
    make_membership(org_a, user, role=Membership.Role.ADMIN)
    return user


def membership_of(org, user) -> Membership:
    with tenant_context(org):
        return Membership.objects.get(user=user)


def assert_signed_out(client, reason: EndReason) -> None:
    """The next request of a revoked or ended session: the API says why with a 401, and the
    cookie is gone, so the next page is plainly anonymous."""
    response = client.get(SITES_API)
    assert response.status_code == 401
    assert response.json() == {
        "detail": f"{reason.label} Please sign in again.",
        "code": "session_ended",
    }
    assert client.get(SITES_PAGE).status_code == 302


# A7: keys


def test_A7_sign_in_rotates_the_key_and_stores_only_its_digest(member_of_a):
    client = browser()
    client.get("/accounts/login/")
    session = client.session
    session["before_sign_in"] = True
    session.save()
    anonymous_key = session.session_key
    sign_in_through_page(client, member_of_a)
    key = session_key(client)
    assert key != anonymous_key
    assert not Session.objects.filter(session_key__in=[anonymous_key, key]).exists()
    assert not Session.objects.filter(session_key=key_digest(anonymous_key)).exists()
    assert Session.objects.filter(session_key=key_digest(key)).exists()
    record = record_of(client)
    assert (record.user, record.ip, record.device) == (
        member_of_a,
        "198.51.100.7",
        "Chrome 120 on Mac OS X",
    )
    assert client.get(SITES_API).status_code == 200


def test_A7_session_cookie_is_httponly_and_samesite(member_of_a):
    client = browser()
    response = client.post(
        "/accounts/login/", {"username": member_of_a.email, "password": TEST_PASSWORD}
    )
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert not cookie["domain"]


def test_A7_privilege_change_of_the_session_that_stays_gives_it_a_new_key(member_of_a):
    client = signed_in_browser(member_of_a)
    signed_in_browser(member_of_a)  # another browser
    old_key, record = session_key(client), record_of(client)
    assert client.post("/account/sessions/end-others/").status_code == 302
    assert session_key(client) != old_key
    assert record_of(client).pk == record.pk  # the row follows the new key
    assert not Session.objects.filter(session_key=key_digest(old_key)).exists()
    assert client.get(SITES_API).status_code == 200


def test_A7_password_change_keeps_the_changing_session_under_a_new_key(member_of_a):
    client = signed_in_browser(member_of_a)
    other = signed_in_browser(member_of_a, user_agent=FIREFOX_ON_LINUX)
    old_key = session_key(client)
    new_password = "a different horse battery staple 77"
    response = client.post(
        "/account/password/",
        {
            "current_password": TEST_PASSWORD,
            "new_password": new_password,
            "new_password_again": new_password,
        },
    )
    assert response.status_code == 302, response.content
    assert session_key(client) != old_key
    assert client.get(SITES_API).status_code == 200
    assert record_of(client).is_open
    assert_signed_out(other, EndReason.PASSWORD_CHANGED)


# A10: seeing and ending your own sessions


def test_A10_session_list_shows_only_own_open_sessions(member_of_a, org_a):
    mine = signed_in_browser(member_of_a)
    sign_in_through_page(browser(user_agent=FIREFOX_ON_LINUX, ip="203.0.113.9"), member_of_a)
    ended = signed_in_browser(member_of_a)
    ended.post("/accounts/logout/")
    stranger = make_user("sam@alpha.example")
    make_membership(org_a, stranger)
    signed_in_browser(stranger)

    page = mine.get("/account/sessions/")
    assert page.status_code == 200
    listed = list(page.context["sessions"])
    assert {s.user_id for s in listed} == {member_of_a.pk}
    assert len(listed) == 2
    assert b"Firefox 128 on Ubuntu" in page.content
    assert b"203.0.113.9" in page.content
    assert b"This session" in page.content

    api = mine.get("/api/v1/account/sessions/")
    assert api.status_code == 200
    rows = api.json()
    assert len(rows) == 2
    assert [r["current"] for r in rows].count(True) == 1
    assert set(rows[0]) == {"id", "device", "ip", "signed_in_at", "last_seen_at", "current"}


def test_A10_session_list_costs_the_same_queries_for_2_and_12_sessions(member_of_a):
    client = signed_in_browser(member_of_a)
    signed_in_browser(member_of_a)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/account/sessions/").status_code == 200
            assert client.get("/api/v1/account/sessions/").status_code == 200
        return len(captured)

    few = count()
    for _ in range(10):
        signed_in_browser(member_of_a)
    assert count() == few


def test_A10_ending_a_session_signs_that_browser_out_on_its_next_request(member_of_a, org_a):
    laptop = signed_in_browser(member_of_a)
    phone = signed_in_browser(member_of_a, user_agent=FIREFOX_ON_LINUX)
    target = record_of(phone)
    response = laptop.post(f"/account/sessions/{target.pk}/end/", follow=True)
    assert b"has ended" in response.content
    target.refresh_from_db()
    assert target.end_reason == EndReason.ENDED_BY_USER

    page = phone.get(SITES_PAGE, follow=True)
    assert page.redirect_chain[-1][0].startswith("/accounts/login/")
    assert b"This session was ended from another of your sessions." in page.content
    assert phone.get(SITES_API).status_code == 401
    assert laptop.get(SITES_API).status_code == 200
    [ended] = events(org_a, "session.ended")
    assert ended.entity_id == str(target.pk)
    assert ended.actor_id == str(member_of_a.pk)
    [refused] = events(org_a, "session.refused")
    assert refused.changes == {"reason": [None, "ended_by_user"]}


def test_A10_end_all_other_sessions_keeps_the_current_one(member_of_a, org_a):
    current = signed_in_browser(member_of_a)
    others = [signed_in_browser(member_of_a) for _ in range(2)]
    response = current.post("/api/v1/account/sessions/end-others/")
    assert response.json() == {"sessions_ended": 2}
    for other in others:
        assert_signed_out(other, EndReason.ENDED_BY_USER)
    assert current.get(SITES_API).status_code == 200
    assert len(current.get("/api/v1/account/sessions/").json()) == 1
    [revoked] = events(org_a, "sessions.revoked")
    assert revoked.changes["sessions_ended"] == [None, 2]


def test_A10_ending_the_current_session_is_signing_out(member_of_a):
    client = signed_in_browser(member_of_a)
    record = record_of(client)
    assert client.delete(f"/api/v1/account/sessions/{record.pk}/").status_code == 204
    record.refresh_from_db()
    assert record.end_reason == EndReason.SIGNED_OUT
    assert client.get(SITES_API).status_code == 401


def test_A10_another_users_session_is_a_404_and_stays_open(member_of_a, org_a):
    stranger = make_user("sam@alpha.example")
    make_membership(org_a, stranger)
    theirs = signed_in_browser(stranger)
    record = record_of(theirs)
    mine = signed_in_browser(member_of_a)
    assert mine.post(f"/account/sessions/{record.pk}/end/").status_code == 404
    assert mine.delete(f"/api/v1/account/sessions/{record.pk}/").status_code == 404
    assert theirs.get(SITES_API).status_code == 200


def test_A10_session_pages_refuse_anonymous_and_forged_requests(member_of_a):
    anonymous = browser()
    assert anonymous.get("/account/sessions/").status_code == 302
    assert anonymous.get("/api/v1/account/sessions/").status_code == 403
    strict = Client(enforce_csrf_checks=True, HTTP_HOST=settings.PORTAL_HOST)
    strict.force_login(member_of_a)
    assert strict.post("/account/sessions/end-others/").status_code == 403
    assert strict.post("/api/v1/account/sessions/end-others/").status_code == 403


# A10: revocation


def test_A10_role_change_signs_every_session_of_the_member_out(member_of_a, admin_of_a, org_a):
    sessions = [signed_in_browser(member_of_a) for _ in range(2)]
    admin = signed_in_browser(admin_of_a)
    with tenant_context(org_a):
        membership_change_role(
            membership=membership_of(org_a, member_of_a), role=Membership.Role.MANAGER
        )
    for client in sessions:
        assert_signed_out(client, EndReason.ROLE_CHANGED)
    assert admin.get(SITES_API).status_code == 200
    [revoked] = events(org_a, "sessions.revoked")
    assert revoked.changes == {"reason": [None, "role_changed"], "sessions_ended": [None, 2]}
    # Signing in again works, under the new role.
    member_of_a.refresh_from_db()
    assert signed_in_browser(member_of_a).get(SITES_API).status_code == 200


def test_A10_a_session_the_revocation_did_not_see_is_refused_too(member_of_a, org_a):
    """The session generation in the auth hash catches a session whose row a revocation
    missed (here: deleted by hand), so the guarantee does not rest on bookkeeping."""
    client = signed_in_browser(member_of_a)
    UserSession.objects.filter(user=member_of_a).delete()
    with tenant_context(org_a):
        membership_change_role(
            membership=membership_of(org_a, member_of_a), role=Membership.Role.MANAGER
        )
    assert Session.objects.filter(session_key=key_digest(session_key(client))).exists()
    assert client.get(SITES_API).status_code == 401


def test_A10_deactivation_signs_every_session_out(member_of_a, org_a):
    client = signed_in_browser(member_of_a)
    user_deactivate(user=member_of_a)
    assert_signed_out(client, EndReason.DEACTIVATED)
    assert [e.action for e in events(org_a, "user.deactivated")] == ["user.deactivated"]


def test_A10_deactivation_outside_the_service_still_refuses_the_session(member_of_a):
    client = signed_in_browser(member_of_a)
    record = record_of(client)
    User.objects.filter(pk=member_of_a.pk).update(is_active=False)
    assert_signed_out(client, EndReason.DEACTIVATED)
    record.refresh_from_db()
    assert record.end_reason == EndReason.DEACTIVATED


def test_A10_password_change_outside_a_request_signs_every_session_out(member_of_a):
    clients = [signed_in_browser(member_of_a) for _ in range(2)]
    password_change(user=member_of_a, new_password="a different horse battery staple 77")
    for client in clients:
        assert_signed_out(client, EndReason.PASSWORD_CHANGED)


def test_A10_guest_access_revoked_signs_the_guest_out(org_a):
    guest = make_user("gus@guest.example")
    now = timezone.now()
    with tenant_context(org_a):
        membership = guest_access_grant(
            user=guest,
            role=Membership.Role.STAFF,
            valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=1),
        )
    client = signed_in_browser(guest)
    assert client.get(SITES_API).status_code == 200
    with tenant_context(org_a):
        guest_access_revoke(membership=membership)
    assert_signed_out(client, EndReason.MEMBERSHIP_CHANGED)


def test_A10_expired_membership_is_refused_on_the_next_request(member_of_a, org_a):
    """Expiry writes nothing: the tenant middleware's per-request membership check refuses
    the organisation at once (T5), in every session."""
    client = signed_in_browser(member_of_a)
    with tenant_context(org_a):
        Membership.objects.filter(user=member_of_a).update(
            valid_from=timezone.now() - timedelta(days=2),
            valid_until=timezone.now() - timedelta(seconds=1),
        )
    assert client.get(SITES_API).status_code == 404


def test_A10_admin_signs_everyone_out_and_stays_signed_in(member_of_a, admin_of_a, org_a, org_b):
    member = signed_in_browser(member_of_a)
    admin = signed_in_browser(admin_of_a)
    admin_elsewhere = signed_in_browser(admin_of_a)
    outsider = make_user("bob@bravo.example")
    make_membership(org_b, outsider)
    other_org = signed_in_browser(outsider)
    admin_key = session_key(admin)

    page = admin.get("/o/alpha/settings/sessions/")
    assert page.status_code == 200
    response = admin.post("/o/alpha/settings/sessions/", follow=True)
    assert b"Everyone was signed out of Alpha Guarding: 2 sessions ended." in response.content

    assert session_key(admin) != admin_key
    assert admin.get(SITES_API).status_code == 200
    assert_signed_out(member, EndReason.ORGANIZATION_SIGN_OUT)
    assert_signed_out(admin_elsewhere, EndReason.ORGANIZATION_SIGN_OUT)
    assert other_org.get("/api/v1/o/bravo/sites/").status_code == 200
    [event] = events(org_a, "organization.signed_everyone_out")
    assert (event.actor_id, event.changes) == (str(admin_of_a.pk), {"sessions_ended": [None, 2]})


def test_A10_sign_everyone_out_api_is_for_owners_and_admins_of_that_organisation(
    member_of_a, admin_of_a, org_a, org_b
):
    url = "/api/v1/o/alpha/sessions/sign-out-everyone/"
    staff = signed_in_browser(member_of_a)
    assert staff.post(url).status_code == 403
    assert staff.get("/o/alpha/settings/sessions/").status_code == 403
    assert [e.action for e in events(org_a, "access.denied")] == ["access.denied"] * 2

    bravo_admin = make_user("bea@bravo.example")
    make_membership(org_b, bravo_admin, role=Membership.Role.OWNER)
    outsider = signed_in_browser(bravo_admin)
    assert outsider.post(url).status_code == 404
    assert outsider.post("/o/alpha/settings/sessions/").status_code == 404
    assert staff.get(SITES_API).status_code == 200

    admin = signed_in_browser(admin_of_a)
    assert admin.post(url).json() == {"sessions_ended": 1}
    assert staff.get(SITES_API).status_code == 401


# A9: idle and absolute limits


def test_A9_platform_idle_limit_ends_the_session_outside_organisations(member_of_a, org_a):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = signed_in_browser(member_of_a)
        record = record_of(client)
        clock.move_to(start + timedelta(minutes=29))
        assert client.get("/account/sessions/").status_code == 200
        clock.move_to(start + timedelta(minutes=29 + 32))
        response = client.get("/account/sessions/", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert b"You were signed out after a period without activity." in response.content
    record.refresh_from_db()
    assert record.end_reason == EndReason.IDLE_TIMEOUT
    [expired] = events(org_a, "session.expired")
    assert expired.changes == {"reason": [None, "idle_timeout"]}
    assert (expired.actor_type, expired.actor_label) == ("system", "session policy")


def test_A9_activity_keeps_a_session_alive_and_last_seen_current(member_of_a):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = signed_in_browser(member_of_a)
        for minute in range(20, 200, 20):
            clock.move_to(start + timedelta(minutes=minute))
            assert client.get(SITES_API).status_code == 200
        assert record_of(client).last_seen_at == start + timedelta(minutes=180)


def test_A9_organisation_idle_limit_applies_on_its_pages(member_of_a, org_a):
    with tenant_context(org_a):
        security_policy_update(idle_timeout_minutes=5)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = signed_in_browser(member_of_a)
        record = record_of(client)
        clock.move_to(start + timedelta(minutes=5))
        assert client.get(SITES_API).status_code == 200
        clock.move_to(start + timedelta(minutes=11))
        assert_signed_out(client, EndReason.IDLE_TIMEOUT)
    record.refresh_from_db()
    assert record.end_reason == EndReason.IDLE_TIMEOUT


def test_A9_absolute_limit_ends_even_an_active_session(member_of_a, org_a):
    with tenant_context(org_a):
        security_policy_update(absolute_timeout_hours=1)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = signed_in_browser(member_of_a)
        for minute in (20, 40, 59):
            clock.move_to(start + timedelta(minutes=minute))
            assert client.get(SITES_API).status_code == 200
        clock.move_to(start + timedelta(minutes=61))
        response = client.get(SITES_PAGE, follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert b"Your session reached its maximum length." in response.content
    [expired] = events(org_a, "session.expired")
    assert expired.changes == {"reason": [None, "absolute_timeout"]}


def test_A10_sessions_nobody_came_back_to_are_ended_and_recorded(member_of_a, org_a):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        gone = signed_in_browser(member_of_a)
        gone_record = record_of(gone)
        clock.move_to(start + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60))
        active = signed_in_browser(member_of_a)
        assert end_lapsed_sessions() == 1
    gone_record.refresh_from_db()
    assert gone_record.end_reason == EndReason.LAPSED
    assert record_of(active).is_open
    assert not Session.objects.filter(session_key=key_digest(session_key(gone))).exists()
    [expired] = events(org_a, "session.expired")
    assert expired.changes == {"reason": [None, "lapsed"]}
    assert expired.actor_label == "accounts.end_lapsed_sessions"


# Bad input: tampered and forged cookies


@pytest.mark.parametrize(
    "cookie",
    ["forged-session-key", "x" * 4096, "' OR 1=1 --", "ünïcödé", "a"],
    ids=["forged", "oversized", "injection", "non-ascii", "short"],
)
def test_A10_forged_or_tampered_cookie_is_anonymous_with_a_clear_message(
    member_of_a, org_a, cookie
):
    client = signed_in_browser(member_of_a)
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Your session is not valid or has expired. Please sign in again." in response.content
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == ""  # deleted
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    api = client.get(SITES_API)
    assert api.status_code == 401
    assert api.json()["code"] == "session_ended"
    assert events(org_a, "session.refused") == []


def test_A10_tampered_key_of_a_real_session_is_not_that_session(member_of_a):
    client = signed_in_browser(member_of_a)
    key = session_key(client)
    client.cookies[settings.SESSION_COOKIE_NAME] = key[:-1] + ("a" if key[-1] != "a" else "b")
    assert client.get(SITES_API).status_code == 401
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert client.get(SITES_API).status_code == 200


def test_A10_a_raw_digest_from_the_database_is_not_a_usable_cookie(member_of_a):
    client = signed_in_browser(member_of_a)
    client.cookies[settings.SESSION_COOKIE_NAME] = key_digest(session_key(client))
    assert client.get(SITES_API).status_code == 401
