"""Z2: the rules behind changing someone's role (the last owner stays, even against two
owners demoting each other at once) and the role settings pages, whose forms call the same
services as the API."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from rbac import registry
from rbac.models import Role
from rbac.services import role_create
from tenants.context import tenant_context
from tenants.models import Membership
from tenants.services import guest_access_grant, membership_assign, membership_change_role
from tests.factories import make_department, make_membership, make_organization, make_user

ROLES_PAGE = "/o/alpha/settings/roles/"
NEW_ROLE_PAGE = "/o/alpha/settings/roles/new/"


def signed_in(user, **kwargs) -> Client:
    client = Client(HTTP_HOST=settings.PORTAL_HOST, **kwargs)
    client.force_login(user)
    return client


def membership_of(org, user) -> Membership:
    with tenant_context(org):
        return Membership.objects.select_related("role_definition").get(user=user)


def roles_of(org) -> dict[str, Role]:
    with tenant_context(org):
        return {role.key: role for role in Role.objects.all()}


def role_form(**fields) -> dict:
    """A filled-in role form as the browser posts it."""
    form = {"name": "Payroll clerk", "description": "", "permissions": []}
    form.update({f"scope_{m}": "own" for m in registry.SCOPED_MODULES})
    form.update({"limit_leave": "", "limit_expense": "", "limit_timesheet": ""})
    form.update(fields)
    return form


# The rules of changing someone's role (services)


@pytest.mark.django_db
def test_Z2_the_last_active_owner_cannot_be_demoted(org_a, people):
    lapsed = make_user("former-owner@alpha.example")
    now = timezone.now()
    make_membership(
        org_a,
        lapsed,
        role="owner",
        valid_from=now - timedelta(days=30),
        valid_until=now - timedelta(days=1),
    )
    owner = membership_of(org_a, people["owner"])
    with tenant_context(org_a):
        with pytest.raises(ValidationError, match="last owner cannot be demoted"):
            membership_change_role(membership=owner, role="admin")
        assert Membership.objects.get(pk=owner.pk).role == "owner"


@pytest.mark.django_db
def test_Z2_rank_rules_hold_for_department_changes_too(org_a, people):
    department = make_department(org_a, "North")
    admin = membership_of(org_a, people["admin"])
    with tenant_context(org_a):
        with pytest.raises(ValidationError, match="ranks above yours"):
            membership_assign(
                membership=membership_of(org_a, people["owner"]),
                department=department,
                client=None,
                actor=admin,
            )
        # An admin may place themselves and anyone ranked at or below them.
        for role in ("admin", "manager"):
            membership_assign(
                membership=membership_of(org_a, people[role]),
                department=department,
                client=None,
                actor=admin,
            )
    assert membership_of(org_a, people["manager"]).department_id == department.pk


@pytest.mark.usefixtures("committed_db")
def test_Z2_two_owners_demoting_each_other_at_once_leave_one_owner():
    """The first demotion holds the owners' rows until it commits; the second, started
    meanwhile, waits for them and then sees it would leave no owner."""
    org = make_organization("Alpha Guarding", "alpha")
    first, second = make_user("first@alpha.example"), make_user("second@alpha.example")
    make_membership(org, first, role="owner")
    make_membership(org, second, role="owner")
    first_holds_the_lock = threading.Event()
    outcome: dict[str, str] = {}

    def demote(actor_user, target_user, name: str, hold: bool) -> None:
        try:
            with tenant_context(org), transaction.atomic():
                actor = Membership.objects.select_related("role_definition").get(user=actor_user)
                target = Membership.objects.select_related("role_definition").get(user=target_user)
                try:
                    membership_change_role(membership=target, role="admin", actor=actor)
                    outcome[name] = "demoted"
                except ValidationError as error:
                    outcome[name] = error.messages[0]
                if hold:
                    first_holds_the_lock.set()
                    time.sleep(0.5)  # the other demotion starts and must wait
        finally:
            connections.close_all()

    one = threading.Thread(target=demote, args=(first, second, "first", True))
    one.start()
    assert first_holds_the_lock.wait(10)
    two = threading.Thread(target=demote, args=(second, first, "second", False))
    two.start()
    one.join(10)
    two.join(10)
    assert outcome == {
        "first": "demoted",
        "second": "The organisation's last owner cannot be demoted.",
    }
    assert membership_of(org, first).role == "owner"
    assert membership_of(org, second).role == "admin"


# The role pages


@pytest.mark.django_db
def test_Z2_role_list_page_shows_every_role_with_its_member_count(org_a, people):
    response = signed_in(people["admin"]).get(ROLES_PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    for role in registry.DEFAULT_ROLES:
        assert f'href="/o/alpha/settings/roles/{role.key}/">{role.name}</a>' in page
    assert '<a href="/o/alpha/settings/roles/new/">New role</a>' in page
    listed = response.context["roles"]
    assert {role.key: role.member_count for role in listed}["staff"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "staff"])
def test_Z2_role_pages_are_refused_without_role_permissions(org_a, people, role):
    client = signed_in(people[role])
    assert client.get(ROLES_PAGE).status_code == 403
    assert client.get(NEW_ROLE_PAGE).status_code == 403
    assert client.get(f"{ROLES_PAGE}staff/").status_code == 403
    assert client.post(NEW_ROLE_PAGE, role_form()).status_code == 403
    assert client.post(f"{ROLES_PAGE}staff/", role_form(name="Crew")).status_code == 403
    assert "payroll-clerk" not in roles_of(org_a)
    assert roles_of(org_a)["staff"].name == "Staff"


@pytest.mark.django_db
def test_Z2_admin_creates_a_role_through_the_form(org_a, people):
    client = signed_in(people["admin"])
    form = client.get(NEW_ROLE_PAGE)
    assert form.status_code == 200
    assert 'id="perm-user.view"' in form.content.decode()
    response = client.post(
        NEW_ROLE_PAGE,
        role_form(
            description="Keeps people's records for payroll.",
            permissions=["user.view", "user.update", "department.view"],
            scope_timesheet="all",
            limit_expense="250",
        ),
    )
    assert response.status_code == 302, response.content
    assert response["Location"] == ROLES_PAGE
    clerk = roles_of(org_a)["payroll-clerk"]
    assert clerk.permissions == ["department.view", "user.update", "user.view"]
    assert clerk.scopes["timesheet"] == "all" and clerk.scopes["leave"] == "own"
    assert clerk.approval_limits == {"expense": "250.00"}
    listed = client.get(ROLES_PAGE).content.decode()
    assert "The role Payroll clerk was created." in listed
    assert 'href="/o/alpha/settings/roles/payroll-clerk/">Payroll clerk</a>' in listed


@pytest.mark.django_db
def test_Z2_escalation_through_the_form_is_refused_next_to_the_permissions(org_a, people):
    response = signed_in(people["admin"]).post(
        NEW_ROLE_PAGE, role_form(permissions=["user.view", "pay_rate.view"])
    )
    assert response.status_code == 400
    assert response.context["form"].errors["permissions"] == [
        "You cannot grant permissions you do not hold: pay_rate.view."
    ]
    page = response.content.decode()
    assert 'aria-describedby="permissions-errors"' in page
    assert "You cannot grant permissions you do not hold: pay_rate.view." in page
    # What was ticked stays ticked for the next attempt.
    assert 'value="user.view" checked' in page
    assert "payroll-clerk" not in roles_of(org_a)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "Staff"}, "name", "A role named 'Staff' already exists."),
        ({"permissions": ["site.fly"]}, "permissions", "Select a valid choice."),
        ({"scope_leave": "everyone"}, "scope_leave", "Select a valid choice."),
        ({"limit_expense": "-1"}, "limit_expense", "greater than or equal to 0"),
        ({"limit_expense": "a lot"}, "limit_expense", "Enter a number."),
    ],
)
def test_Z2_form_errors_are_shown_next_to_their_field(org_a, people, fields, field, message):
    response = signed_in(people["admin"]).post(NEW_ROLE_PAGE, role_form(**fields))
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert "payroll-clerk" not in roles_of(org_a)


@pytest.mark.django_db
def test_Z2_edit_page_shows_the_role_and_saves_changes(org_a, people):
    client = signed_in(people["admin"])
    page = client.get(f"{ROLES_PAGE}manager/").content.decode()
    assert 'value="leave.approve" checked' in page
    assert 'value="pay_rate.view" checked' in page
    assert 'value="user.manage">' in page  # not held by managers: unticked
    manager = roles_of(org_a)["manager"]
    # An admin narrows the manager role, keeping what the admin role itself lacks.
    kept = [p for p in manager.permissions if p != "expense.delete"]
    response = client.post(
        f"{ROLES_PAGE}manager/",
        role_form(
            name="Team lead",
            permissions=kept,
            **{f"scope_{m}": "department" for m in registry.SCOPED_MODULES},
            limit_expense="500",
        ),
    )
    assert response.status_code == 302, response.content
    manager = roles_of(org_a)["manager"]
    assert manager.name == "Team lead"
    assert "expense.delete" not in manager.permissions and "leave.approve" in manager.permissions
    assert manager.approval_limits == {"expense": "500.00"}


@pytest.mark.django_db
def test_Z2_owner_role_page_edits_only_name_description_and_limits(org_a, people):
    client = signed_in(people["owner"])
    page = client.get(f"{ROLES_PAGE}owner/").content.decode()
    assert 'name="permissions"' not in page and 'name="scope_leave"' not in page
    assert "always holds every permission" in page
    response = client.post(f"{ROLES_PAGE}owner/", {"name": "Owner", "description": "The founders."})
    assert response.status_code == 302, response.content
    owner = roles_of(org_a)["owner"]
    assert owner.description == "The founders."
    assert set(owner.permissions) == registry.PERMISSIONS
    # An admin may look, not change it.
    refused = signed_in(people["admin"]).post(f"{ROLES_PAGE}owner/", {"name": "Boss"})
    assert refused.status_code == 400
    assert "You cannot change a role ranked above your own." in refused.content.decode()
    assert roles_of(org_a)["owner"].name == "Owner"


@pytest.mark.django_db
def test_Z2_read_only_viewers_see_the_form_disabled(org_a, people):
    auditor = make_user("auditor@alpha.example")
    now = timezone.now()
    with tenant_context(org_a):
        guest_access_grant(
            user=auditor, role="auditor", valid_from=now, valid_until=now + timedelta(days=7)
        )
    client = signed_in(auditor)
    page = client.get(f"{ROLES_PAGE}staff/").content.decode()
    assert "<fieldset disabled>" in page
    assert "Save role" not in page and "Delete the role" not in page
    assert 'href="/o/alpha/settings/roles/new/"' not in client.get(ROLES_PAGE).content.decode()
    assert client.post(f"{ROLES_PAGE}staff/", role_form(name="Crew")).status_code == 403


@pytest.mark.django_db
def test_Z2_roles_are_deleted_from_their_page_unless_default_or_in_use(org_a, people):
    client = signed_in(people["admin"])
    with tenant_context(org_a):
        role_create(name="Temp", permissions=["site.view"])
        role_create(name="Held", permissions=["site.view"])
    membership = membership_of(org_a, people["staff"])
    with tenant_context(org_a):
        membership_change_role(membership=membership, role="held")
    assert "Delete the role Temp" in client.get(f"{ROLES_PAGE}temp/").content.decode()
    for in_use_or_default in ("held", "staff"):
        page = client.get(f"{ROLES_PAGE}{in_use_or_default}/").content.decode()
        assert "Delete the role" not in page
    deleted = client.post(f"{ROLES_PAGE}temp/delete/")
    assert deleted.status_code == 302 and deleted["Location"] == ROLES_PAGE
    refused = client.post(f"{ROLES_PAGE}held/delete/", follow=True)
    assert "Members or invitations still hold this role." in refused.content.decode()
    default = client.post(f"{ROLES_PAGE}staff/delete/", follow=True)
    assert "Default roles cannot be deleted." in default.content.decode()
    assert set(roles_of(org_a)) >= {"held", "staff"} and "temp" not in roles_of(org_a)
    assert client.get(f"{ROLES_PAGE}temp/").status_code == 404


@pytest.mark.django_db
def test_Z2_role_forms_need_the_csrf_token(org_a, people):
    client = signed_in(people["admin"], enforce_csrf_checks=True)
    assert client.post(NEW_ROLE_PAGE, role_form(permissions=["user.view"])).status_code == 403
    assert "payroll-clerk" not in roles_of(org_a)


@pytest.mark.django_db
def test_Z2_another_organisations_role_page_is_404(org_a, org_b, people):
    with tenant_context(org_b):
        role_create(name="Bravo only", permissions=["site.view"])
    client = signed_in(people["admin"])
    assert client.get(f"{ROLES_PAGE}bravo-only/").status_code == 404
    assert client.post(f"{ROLES_PAGE}bravo-only/delete/").status_code == 404
    with tenant_context(org_b):
        assert Role.objects.filter(key="bravo-only").exists()
