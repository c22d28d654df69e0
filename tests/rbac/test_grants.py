"""Z9: single documents shared with single users through django-guardian object grants, held
in a tenant table; ``can`` weighs role, scope and grant, and gives platform superusers
nothing extra."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from rbac.grants import can, document_share
from tenants.context import tenant_context
from tenants.selectors import active_membership
from tenants.services import guest_access_grant
from tests.factories import (
    make_client,
    make_department,
    make_document,
    make_membership,
    make_organization,
    make_user,
)
from workforce.models import DocumentGrant
from workforce.services import record_soft_delete

pytestmark = pytest.mark.django_db

SHARED = "/api/v1/o/alpha/shared-documents"


def grants_url(document, user=None) -> str:
    base = f"/api/v1/o/alpha/documents/{document.pk}/grants/"
    return base if user is None else f"{base}{user.pk}/"


def signed_in(user) -> Client:
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


class Alpha:
    """A staff member in North with a contract (with internal notes), the North manager, an
    owner, and a client contact of Acme."""

    def __init__(self, org):
        self.org = org
        self.north = make_department(org, "North")
        self.south = make_department(org, "South")
        self.users = {name: make_user(f"{name}@alpha.example") for name in self.ROLES}
        self.members = {
            name: make_membership(org, self.users[name], **fields)
            for name, fields in {
                "owner": {"role": "owner"},
                "manager": {"role": "manager", "department": self.north},
                "south_manager": {"role": "manager", "department": self.south},
                "staff": {"role": "staff", "department": self.north},
                "contact": {"role": "client", "client": make_client(org, "Acme")},
            }.items()
        }
        self.document = make_document(
            org, self.members["staff"], title="Site induction", internal_notes="Pending review"
        )

    ROLES = ("owner", "manager", "south_manager", "staff", "contact")

    def share(self, who: str, user, document=None):
        return signed_in(self.users[who]).post(
            grants_url(document or self.document),
            {"user_id": user.pk},
            content_type="application/json",
        )

    def unshare(self, who: str, user):
        return signed_in(self.users[who]).delete(grants_url(self.document, user))

    def read(self, user):
        return signed_in(user).get(f"{SHARED}/{self.document.pk}/")

    def grant_count(self) -> int:
        with tenant_context(self.org):
            return DocumentGrant.objects.count()


@pytest.fixture
def alpha(org_a):
    return Alpha(org_a)


def test_Z9_a_client_reads_a_document_only_while_it_is_shared_with_them(alpha):
    contact = alpha.users["contact"]
    assert alpha.read(contact).status_code == 404
    shared = alpha.share("manager", contact)
    assert shared.status_code == 201
    assert shared.json()["granted_by"] == alpha.members["manager"].pk
    response = alpha.read(contact)
    assert response.status_code == 200
    # Z7 still holds for what is shared: a client never receives internal notes.
    assert response.json() == {
        "id": alpha.document.pk,
        "title": "Site induction",
        "expires_on": None,
    }
    assert alpha.unshare("manager", contact).status_code == 204
    assert alpha.read(contact).status_code == 404
    assert alpha.grant_count() == 0


def test_Z9_sharing_and_unsharing_are_audited(alpha):
    contact = alpha.users["contact"]
    alpha.share("owner", contact)
    alpha.share("owner", contact)  # sharing twice keeps one grant
    assert alpha.grant_count() == 1
    alpha.unshare("owner", contact)
    with tenant_context(alpha.org):
        events = list(
            AuditEvent.objects.filter(
                entity_type="workforce.document",
                action__in=["document.shared", "document.unshared"],
            ).order_by("seq")
        )
    assert [(e.action, e.changes["user"], e.actor_role) for e in events] == [
        ("document.shared", [None, contact.pk], "owner"),
        ("document.shared", [None, contact.pk], "owner"),
        ("document.unshared", [contact.pk, None], "owner"),
    ]


def test_Z9_a_grant_names_an_active_member_of_the_same_organisation(alpha):
    bravo = make_organization("Bravo Care", "bravo")
    outsider = make_user("bob@bravo.example")
    make_membership(bravo, outsider, role="owner")
    refused = alpha.share("owner", outsider)
    assert refused.status_code == 400
    unknown = User(pk=10**9)
    assert alpha.share("owner", unknown).json() == refused.json()
    assert alpha.grant_count() == 0
    # Past the API too: the service refuses a user who is no member here.
    with tenant_context(alpha.org), pytest.raises(ValidationError, match="active members"):
        document_share(document=alpha.document, user=outsider, granted_by=alpha.members["owner"])
    assert signed_in(outsider).get(f"{SHARED}/{alpha.document.pk}/").status_code == 404


def test_Z9_grants_are_rows_of_their_organisation(alpha):
    bravo = make_organization("Bravo Care", "bravo")
    alpha.share("owner", alpha.users["contact"])
    with tenant_context(alpha.org):
        [grant] = DocumentGrant.objects.all()
        assert grant.organization_id == alpha.org.pk
    with tenant_context(bravo):
        assert DocumentGrant.objects.count() == 0
        # T2: the database itself hides them, whatever the query.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM workforce_document_grant")
            assert cursor.fetchone() == (0,)


def test_Z9_only_members_who_may_update_the_document_share_it(alpha):
    contact = alpha.users["contact"]
    # Staff lack document.update (declared permission); the South manager cannot see a North
    # document at all.
    assert alpha.share("staff", contact).status_code == 403
    assert alpha.share("south_manager", contact).status_code == 404
    assert alpha.share("contact", contact).status_code == 403
    assert alpha.grant_count() == 0


def test_Z9_a_deleted_document_stays_unreadable_whatever_was_shared(alpha):
    contact = alpha.users["contact"]
    alpha.share("owner", contact)
    with tenant_context(alpha.org):
        record_soft_delete(record=alpha.document)
    assert alpha.read(contact).status_code == 404
    assert alpha.unshare("owner", contact).status_code == 404


def test_Z9_a_board_guest_reads_only_what_is_shared_with_them(alpha):
    guest = make_user("guest@alpha.example")
    now = timezone.now()
    with tenant_context(alpha.org):
        guest_access_grant(
            user=guest, role="board_guest", valid_from=now, valid_until=now + timedelta(days=7)
        )
    assert alpha.read(guest).status_code == 404
    assert alpha.share("owner", guest).status_code == 201
    assert alpha.read(guest).status_code == 200


def test_Z9_can_weighs_role_scope_and_grant(alpha):
    document = alpha.document
    with tenant_context(alpha.org):
        document_share(
            document=document, user=alpha.users["contact"], granted_by=alpha.members["owner"]
        )
        members = {name: active_membership(user) for name, user in alpha.users.items()}
        assert can(members["contact"], "document.view")
        assert can(members["contact"], "document.view", document)  # the grant
        assert not can(members["contact"], "document.update", document)  # views only
        assert can(members["manager"], "document.update", document)  # department scope
        assert not can(members["south_manager"], "document.view", document)
        assert can(members["staff"], "document.view", document)  # their own
        assert not can(members["staff"], "document.update", document)  # role
        assert can(members["owner"], "document.update", document)  # scope "all"


def test_Z9_a_platform_superuser_gets_nothing_from_guardian(alpha):
    contact = alpha.users["contact"]
    User.objects.filter(pk=contact.pk).update(is_superuser=True)
    contact.refresh_from_db()
    assert alpha.read(contact).status_code == 404
    with tenant_context(alpha.org):
        assert not can(active_membership(contact), "document.view", alpha.document)
