"""A2/A3: invitations with email verification by one-time code, and forced password change
for admin-set passwords; every step, including refusals, on the audit record."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.models import Membership
from tests.factories import TEST_PASSWORD, make_membership, make_user

# Real commits: invitation emails are sent when the transaction commits (on_commit).
pytestmark = pytest.mark.usefixtures("committed_db")

NEW_PASSWORD = "a brand new passphrase 2026"


@pytest.fixture
def visitor():
    """A second browser: the invitee, not signed in."""
    return Client(HTTP_HOST="app.localhost")


@pytest.fixture
def admin_client(portal_client, org_a):
    admin = make_user("admin@alpha.example")
    make_membership(org_a, admin, role=Membership.Role.ADMIN)
    portal_client.force_login(admin)
    return portal_client


def _invite(admin, email="new@alpha.example", role="staff") -> str:
    response = admin.post(
        "/api/v1/o/alpha/invitations/",
        {"email": email, "role": role},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    [message] = [m for m in mail.outbox if "invited you" in m.subject]
    return re.search(r"https?://\S+(/invitations/\S+/)", message.body)[1]


def _latest_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].subject)[1]


def _actions(org) -> list[str]:
    with tenant_context(org):
        return list(
            AuditEvent.objects.filter(action__startswith="invitation.").values_list(
                "action", flat=True
            )
        )


def test_A3_invitation_verify_code_set_password_and_sign_in(admin_client, visitor, org_a):
    link = _invite(admin_client)
    page = visitor.get(link)
    assert page.status_code == 200
    assert b"new@alpha.example" in page.content
    wrong = visitor.post(link, {"action": "verify", "code": "000000"})
    if _latest_code() == "000000":  # one in a million: make the wrong code really wrong
        wrong = visitor.post(link, {"action": "verify", "code": "111111"})
    assert wrong.status_code == 400
    assert b"That code is not right" in wrong.content
    right = visitor.post(link, {"action": "verify", "code": _latest_code()})
    assert right.status_code == 302
    password_page = visitor.get(link)
    assert b"Choose a password" in password_page.content
    weak = visitor.post(
        link,
        {"password": "password123", "password_again": "password123"},
    )
    assert weak.status_code == 400
    assert not User.objects.filter(email="new@alpha.example").exists()
    joined = visitor.post(link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert joined.status_code == 302
    user = User.objects.get(email="new@alpha.example")
    assert user.email_verified_at is not None
    assert user.check_password(NEW_PASSWORD)
    signed_in = visitor.post(
        "/accounts/login/",
        {"username": "new@alpha.example", "password": NEW_PASSWORD},
        follow=True,
    )
    assert signed_in.redirect_chain[-1][0] == "/o/alpha/"
    assert _actions(org_a) == [
        "invitation.created",
        "invitation.code_sent",
        "invitation.code_rejected",
        "invitation.email_verified",
        "invitation.accepted",
    ]


def test_A2_invitation_used_twice_is_refused_and_recorded(admin_client, visitor, org_a):
    link = _invite(admin_client)
    visitor.get(link)
    visitor.post(link, {"action": "verify", "code": _latest_code()})
    visitor.post(link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    again = visitor.get(link)
    assert again.status_code == 410
    assert b"already been used" in again.content
    assert _actions(org_a)[-1] == "invitation.reuse_refused"
    with tenant_context(org_a):
        assert Membership.objects.filter(user__email="new@alpha.example").count() == 1


@pytest.mark.parametrize(
    "link",
    ["/invitations/nonsense/", "/invitations/abcdefgh.forged-secret/", "/invitations/.x/"],
)
def test_A2_unknown_or_forged_links_get_one_generic_answer(visitor, org_a, link):
    response = visitor.get(link)
    assert response.status_code == 410
    assert b"This invitation link is not valid" in response.content


def test_A3_expired_code_and_exhausted_attempts_are_refused(admin_client, visitor, org_a):
    link = _invite(admin_client)
    visitor.get(link)
    code = _latest_code()
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        late = visitor.post(link, {"action": "verify", "code": code})
    assert late.status_code == 400
    assert b"expired" in late.content
    with time_machine.travel(timezone.now() + timedelta(minutes=17)):
        visitor.post(link, {"action": "resend"})
        code = _latest_code()
        wrong = "999999" if code != "999999" else "888888"
        for _ in range(5):
            visitor.post(link, {"action": "verify", "code": wrong})
        blocked = visitor.post(link, {"action": "verify", "code": code})
    assert b"too many attempts" in blocked.content
    assert "invitation.code_attempts_exhausted" in _actions(org_a)


def test_A2_an_existing_account_joins_without_a_new_password(admin_client, visitor, org_a, org_b):
    existing = make_user("known@bravo.example")
    make_membership(org_b, existing)
    link = _invite(admin_client, email="known@bravo.example")
    visitor.get(link)
    visitor.post(link, {"action": "verify", "code": _latest_code()})
    visitor.post(link, {})
    existing.refresh_from_db()
    assert existing.check_password(TEST_PASSWORD)
    with tenant_context(org_a):
        assert Membership.objects.filter(user=existing).exists()


def test_A2_invitations_are_for_admins_and_stay_in_their_organisation(
    admin_client, portal_client, org_b, member_of_a
):
    intruder = make_user("boss@bravo.example")
    make_membership(org_b, intruder, role=Membership.Role.OWNER)
    _invite(admin_client)
    invitation_id = admin_client.get("/api/v1/o/alpha/invitations/").json()["results"][0]["id"]
    admin_client.force_login(intruder)
    assert admin_client.get("/api/v1/o/alpha/invitations/").status_code == 404
    assert admin_client.delete(f"/api/v1/o/bravo/invitations/{invitation_id}/").status_code == 404
    admin_client.force_login(member_of_a)
    staff = admin_client.post(
        "/api/v1/o/alpha/invitations/",
        {"email": "x@alpha.example", "role": "owner"},
        content_type="application/json",
    )
    assert staff.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "role": "staff"},
        {"email": "x@alpha.example", "role": "emperor"},
        {"email": "ann@alpha.example", "role": "staff"},
        {},
    ],
)
def test_A2_bad_invitations_are_400_and_send_nothing(admin_client, member_of_a, body):
    response = admin_client.post(
        "/api/v1/o/alpha/invitations/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert mail.outbox == []


def test_A2_admin_set_password_must_be_changed_at_first_sign_in(admin_client, visitor, org_a):
    created = admin_client.post(
        "/api/v1/o/alpha/members/",
        {
            "email": "temp@alpha.example",
            "role": "staff",
            "temporary_password": "Temporary pass 77!",
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    visitor.post(
        "/accounts/login/",
        {"username": "temp@alpha.example", "password": "Temporary pass 77!"},
    )
    for path in ("/orgs/", "/o/alpha/sites/"):
        response = visitor.get(path)
        assert response.status_code == 302
        assert response["Location"] == "/account/password/"
    assert visitor.get("/api/v1/o/alpha/sites/").status_code == 403
    same = visitor.post(
        "/account/password/",
        {
            "current_password": "Temporary pass 77!",
            "new_password": "Temporary pass 77!",
            "new_password_again": "Temporary pass 77!",
        },
    )
    assert same.status_code == 400
    changed = visitor.post(
        "/account/password/",
        {
            "current_password": "Temporary pass 77!",
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302
    assert visitor.get("/o/alpha/sites/").status_code == 200
    with tenant_context(org_a):
        assert AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_A2_member_with_a_weak_temporary_password_is_400_not_500(admin_client):
    response = admin_client.post(
        "/api/v1/o/alpha/members/",
        {"email": "weak@alpha.example", "role": "staff", "temporary_password": "password1234"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not User.objects.filter(email="weak@alpha.example").exists()


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("owner", "You cannot give the Owner role."),
        ("manager", "The Manager role carries"),
        # Z6: the client role approves timesheets, so only an approver (an owner) gives it.
        (
            "client",
            "The Client role carries timesheet.approve, which your Admin role does not have; "
            "only someone whose role has it can give it. Ask an owner.",
        ),
        ("no-such-role", "There is no role 'no-such-role'"),
    ],
)
def test_Z2_an_admin_creates_members_only_with_roles_they_may_give(admin_client, role, message):
    response = admin_client.post(
        "/api/v1/o/alpha/members/",
        {"email": "new@alpha.example", "role": role, "temporary_password": "Temporary pass 77!"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert message in response.json()["role"][0]
    assert not User.objects.filter(email="new@alpha.example").exists()


def test_Z2_invitations_are_refused_for_roles_the_inviter_may_not_give(admin_client):
    for role in ("owner", "manager", "auditor"):
        response = admin_client.post(
            "/api/v1/o/alpha/invitations/",
            {"email": f"{role}@elsewhere.example", "role": role},
            content_type="application/json",
        )
        assert response.status_code == 400, role
    assert mail.outbox == []
