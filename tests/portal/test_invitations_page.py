"""The invitations page (A2, A3, Z2): owners and admins invite people with the roles they may
give, see every invitation's state and revoke open ones; the email, the audit events and the
refusals are the invitation service's."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.invitations import invitation_create
from tenants.models import Invitation
from tests.factories import make_membership, make_user
from tests.portal.conftest import assert_csp_clean

pytestmark = pytest.mark.django_db

PAGE = "/o/alpha/people/invitations/"


def _invitations(world) -> list[Invitation]:
    with tenant_context(world.org):
        return list(Invitation.objects.order_by("id"))


def _admin(world) -> Client:
    user = make_user("admin@alpha.example")
    make_membership(world.org, user, role="admin")
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


def _offered_roles(page) -> list[str]:
    select = re.search(r'<select name="role".*?</select>', page.content.decode(), re.DOTALL)
    return re.findall(r'<option value="([^"]+)"', select.group(0))


def test_A2_an_owner_invites_someone_who_gets_the_link_by_email(
    world, django_capture_on_commit_callbacks
):
    owner = world.client("owner")
    page = owner.get(PAGE)
    assert page.status_code == 200
    assert_csp_clean(page)
    assert "Nobody has been invited yet" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        sent = owner.post(PAGE, {"email": "New.Person@Example.com", "role": "staff"})
    assert sent.status_code == 302 and sent["Location"] == PAGE
    [invitation] = _invitations(world)
    assert (invitation.email, invitation.role, invitation.status) == (
        "new.person@example.com",
        "staff",
        "open",
    )
    [email] = [message for message in mail.outbox if "new.person@example.com" in message.to]
    assert "/invitations/" in email.body
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(action="invitation.created").count() == 1

    listed = owner.get(PAGE).content.decode()
    assert "new.person@example.com is invited" in listed
    assert re.search(r"new\.person@example\.com</th>\s*<td>Staff</td>\s*<td>Open</td>", listed)


def test_A2_the_owner_revokes_an_open_invitation_and_the_page_says_so(world):
    with tenant_context(world.org):
        invitation = invitation_create(
            email="late@example.com", role="staff", invited_by=world.users["owner"]
        ).invitation
    owner = world.client("owner")
    revoked = owner.post(f"{PAGE}{invitation.pk}/revoke/")
    assert revoked.status_code == 302
    [stored] = _invitations(world)
    assert stored.status == "revoked"
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1
    listed = owner.get(PAGE).content.decode()
    assert "The invitation of late@example.com no longer works." in listed
    assert "Revoke<span" not in listed  # nothing open is left to revoke
    # Revoking is a POST; another organisation's or an unknown id is a 404.
    assert owner.get(f"{PAGE}{invitation.pk}/revoke/").status_code == 405
    assert owner.post(f"{PAGE}999999/revoke/").status_code == 404


def test_Z2_an_admin_is_offered_only_the_roles_they_may_give_and_a_crafted_one_is_refused(
    world,
):
    admin = _admin(world)
    offered = _offered_roles(admin.get(PAGE))
    # Admins give no role above their own and none that approves or reads pay (Z2).
    assert set(offered) == {"admin", "staff"}
    for role in ("owner", "manager", "client", "auditor", "no-such-role"):
        refused = admin.post(PAGE, {"email": f"{role}@example.com", "role": role})
        assert refused.status_code == 400, role
        assert "Select a valid choice" in refused.content.decode()
    assert _invitations(world) == []


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-email", "Enter a valid email address."),
        ("staff@alpha.example", "This person is already a member."),
        ("", "This field is required."),
    ],
)
def test_A2_a_bad_invitation_is_a_400_with_the_reason_and_nothing_sent(world, email, message):
    refused = world.client("owner").post(PAGE, {"email": email, "role": "staff"})
    assert refused.status_code == 400
    assert message in refused.content.decode()
    assert _invitations(world) == []
    assert mail.outbox == []


def test_A2_the_people_page_links_to_invitations_for_those_who_invite(world):
    assert PAGE in world.client("owner").get("/o/alpha/people/").content.decode()
    assert PAGE not in world.client("auditor").get("/o/alpha/people/").content.decode()


@pytest.mark.parametrize("role", ["manager", "staff", "client", "auditor"])
def test_Z3_only_people_managers_open_the_page(world, role):
    client = world.client(role)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"email": "x@example.com", "role": "staff"}).status_code == 403
    assert _invitations(world) == []


def test_A2_the_list_costs_the_same_queries_for_3_and_30_invitations(world):
    owner = world.client("owner")

    def invite(count: int, start: int) -> None:
        with tenant_context(world.org):
            for n in range(start, start + count):
                invitation_create(
                    email=f"person{n}@example.com", role="staff", invited_by=world.users["owner"]
                )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner.get(PAGE).status_code == 200
        return len(captured)

    invite(3, 0)
    few = queries()
    invite(27, 3)
    assert queries() == few
