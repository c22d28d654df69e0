"""Z8, X2, A10, T3: what the super-admin site does to organisations and people: every change
is in the organisation's own audit log with the platform operator as the actor; suspension
and offboarding sign every member out; support access needs a stated reason, recorded before
anything is read, and is read-only."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DatabaseError

from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.cross_tenant import cross_tenant_access
from tenants.models import Organization
from tests.accounts.mfa_helpers import browser, sign_in_password
from tests.factories import make_membership, make_organization, make_sites, make_user
from tests.superadmin.conftest import (
    admin_browser,
    admin_sign_in,
    enrolled_app,
    make_superuser,
)
from workforce.models import Site


def events(organization: Organization, action: str) -> list[AuditEvent]:
    with tenant_context(organization):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def signed_in_member(organization: Organization, email: str):
    user = make_user(email)
    make_membership(organization, user)
    client = browser()
    assert sign_in_password(client, email).status_code == 302
    assert client.get(f"/o/{organization.slug}/").status_code == 200
    return user, client


@pytest.mark.django_db
def test_Z8_suspension_signs_the_members_out_and_is_in_the_organisations_log(
    operator, root, org_a, org_b
):
    _, ann = signed_in_member(org_a, "ann@alpha.example")
    _, bob = signed_in_member(org_b, "bob@bravo.example")
    response = operator.post(
        "/platform/organisations/alpha/suspend/", {"reason": "Unpaid invoices, ticket 7"}
    )
    assert response.status_code == 302
    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.SUSPENDED
    # A10: Ann's very next request is anonymous, on any page; Bravo is untouched.
    assert ann.get("/orgs/").status_code == 302
    assert ann.get("/o/alpha/").status_code == 302
    assert bob.get("/o/bravo/").status_code == 200
    [suspended] = events(org_a, "organization.suspended")
    assert (suspended.actor_type, suspended.actor_label) == ("platform", root.email)
    assert suspended.changes == {
        "status": ["active", "suspended"],
        "reason": [None, "Unpaid invoices, ticket 7"],
    }
    assert events(org_a, "organization.signed_everyone_out")
    assert events(org_b, "organization.suspended") == []


@pytest.mark.django_db
def test_Z8_reactivation_and_offboarding(operator, org_a):
    _, ann = signed_in_member(org_a, "ann@alpha.example")
    operator.post("/platform/organisations/alpha/suspend/")
    assert operator.post("/platform/organisations/alpha/reactivate/").status_code == 302
    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.ACTIVE
    assert [e.changes["status"] for e in events(org_a, "organization.reactivated")] == [
        ["suspended", "active"]
    ]
    sign_in_password(ann, "ann@alpha.example")
    assert ann.get("/o/alpha/").status_code == 200
    assert operator.post("/platform/organisations/alpha/offboard/").status_code == 302
    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.OFFBOARDED
    assert ann.get("/orgs/").status_code == 302
    assert len(events(org_a, "organization.offboarded")) == 1
    # Offboarding is final here.
    page = operator.post("/platform/organisations/alpha/reactivate/", follow=True)
    assert b"cannot be reactivated" in page.content
    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.OFFBOARDED


@pytest.mark.django_db
def test_Z8_creating_an_organisation(operator, root):
    response = operator.post(
        "/platform/organisations/new/", {"name": "Charlie Security", "slug": "charlie"}
    )
    assert response.status_code == 302
    charlie = Organization.objects.get(slug="charlie")
    [created] = events(charlie, "organization.created")
    assert (created.actor_type, created.actor_label) == ("platform", root.email)
    again = operator.post("/platform/organisations/new/", {"name": "Other", "slug": "charlie"})
    assert again.status_code == 400
    assert Organization.objects.filter(slug="charlie").count() == 1


@pytest.mark.django_db
def test_Z8_forms_are_csrf_protected(operator, org_a):
    operator.handler.enforce_csrf_checks = True
    for path in (
        "/platform/organisations/alpha/suspend/",
        "/platform/organisations/alpha/offboard/",
        "/platform/organisations/alpha/support/",
        "/platform/organisations/new/",
    ):
        assert operator.post(path, {"reason": "x" * 40}).status_code == 403, path
    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.ACTIVE
    assert events(org_a, "platform.cross_tenant_access") == []


@pytest.mark.django_db
def test_Z8_platform_users_search_and_deactivation(operator, root, org_a):
    ann, ann_browser = signed_in_member(org_a, "ann@alpha.example")
    make_user("someone@else.example")
    page = operator.get("/platform/users/", {"q": "ALPHA"})
    assert [u.email for u in page.context["page"].object_list] == ["ann@alpha.example"]
    assert operator.post(f"/platform/users/{ann.pk}/deactivate/").status_code == 302
    ann.refresh_from_db()
    assert not ann.is_active
    assert ann_browser.get("/orgs/").status_code == 302  # A10: her session ended
    [deactivated] = events(org_a, "user.deactivated")
    assert deactivated.actor_type == "platform"
    # Not oneself.
    operator.post(f"/platform/users/{root.pk}/deactivate/")
    root.refresh_from_db()
    assert root.is_active


@pytest.mark.django_db
def test_Z8_non_platform_sessions_reach_no_action(org_a):
    """A superuser's session that did not pass the admin site's own sign-in changes nothing."""
    root = make_superuser()
    enrolled_app(root)
    client = admin_browser()
    client.force_login(root)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.cookies[settings.PALISADE_ADMIN_SESSION_COOKIE_NAME] = key
    assert client.post("/platform/organisations/alpha/suspend/").status_code == 302
    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.ACTIVE


# --- support access (T3, X2): the cross-tenant connection sees committed rows only --------


@pytest.fixture
def committed_operator(committed_db):
    root = make_superuser()
    app = enrolled_app(root)
    return root, admin_sign_in(root, app)


def test_Z8_support_access_without_a_reason_is_refused(committed_operator):
    _, operator = committed_operator
    bravo = make_organization("Bravo Care", "bravo")
    for reason in ("", "   ", "just looking"):
        response = operator.post("/platform/organisations/bravo/support/", {"reason": reason})
        assert response.status_code == 400
        assert b"State the reason" in response.content or b"required" in response.content
    assert events(bravo, "platform.cross_tenant_access") == []


def test_Z8_support_access_records_the_reason_then_shows_a_read_only_summary(
    committed_operator,
):
    root, operator = committed_operator
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    make_sites(alpha, 3, "A")
    make_sites(bravo, 2, "B")
    make_membership(bravo, make_user("bob@bravo.example"))
    reason = "Ticket 4711: customer asks why a site is missing"
    response = operator.post("/platform/organisations/bravo/support/", {"reason": reason})
    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.members, summary.active_members, summary.sites) == (1, 1, 2)
    [record] = events(bravo, "platform.cross_tenant_access")
    assert (record.actor_type, record.actor_label) == ("platform", root.email)
    assert record.changes == {"reason": [None, reason]}
    assert events(alpha, "platform.cross_tenant_access") == []


def test_Z8_support_access_is_recorded_before_anything_is_read(committed_operator, monkeypatch):
    _, operator = committed_operator
    bravo = make_organization("Bravo Care", "bravo")

    def failing_read(session):
        raise RuntimeError("the read failed")

    monkeypatch.setattr("superadmin.selectors.support_summary", failing_read)
    with pytest.raises(RuntimeError):
        operator.post(
            "/platform/organisations/bravo/support/",
            {"reason": "Ticket 4712: checking the audit trail"},
        )
    assert len(events(bravo, "platform.cross_tenant_access")) == 1


def test_T3_support_access_cannot_write_across_tenants(committed_db):
    bravo = make_organization("Bravo Care", "bravo")
    make_sites(bravo, 1, "B")
    with (
        pytest.raises(DatabaseError),
        cross_tenant_access(
            bravo, actor="support@palisade.example", reason="Ticket 1: read only", read_only=True
        ) as session,
    ):
        session.queryset(Site).update(name="changed")
    with tenant_context(bravo):
        assert [site.name for site in Site.objects.all()] == ["B 0000"]
