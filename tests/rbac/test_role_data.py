"""Z2, Z5: roles are each organisation's own rows, held in place by the database; the
department tree keeps its materialised paths."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rbac import registry
from rbac.models import ApprovalChain, Role
from tenants.context import tenant_context
from tenants.models import Membership
from tenants.selectors import active_membership
from tenants.services import guest_access_grant, membership_create
from tests.factories import make_department, make_membership, make_user
from workforce.models import Department
from workforce.services import department_move

pytestmark = pytest.mark.django_db


def test_Z2_every_new_organisation_gets_the_default_roles_and_chains(org_a, org_b):
    for org in (org_a, org_b):
        with tenant_context(org):
            roles = {role.key: role for role in Role.objects.all()}
            assert list(roles) == [seed.key for seed in registry.DEFAULT_ROLES]
            assert set(roles["owner"].permissions) == registry.PERMISSIONS
            assert roles["manager"].scope_for("leave") == "department"
            assert roles["staff"].scope_for("leave") == "own"
            assert roles["auditor"].time_boxed and not roles["manager"].time_boxed
            assert dict(ApprovalChain.objects.values_list("subject", "steps")) == {
                "leave": [["manager", "owner"]],
                "expense": [["manager", "owner"]],
                "timesheet": [["client", "manager", "owner"], ["owner"]],
            }
    with tenant_context(org_a):
        a_ids = set(Role.objects.values_list("pk", flat=True))
    with tenant_context(org_b):
        assert not a_ids & set(Role.objects.values_list("pk", flat=True))


def test_Z2_the_database_refuses_a_membership_on_an_unknown_role(org_a):
    user = make_user("nobody@alpha.example")
    with tenant_context(org_a), pytest.raises(ValidationError, match="no role 'superuser'"):
        membership_create(user=user, role="superuser")
    # Past the service too: the composite key (organization_id, role) -> rbac_role refuses.
    with (
        tenant_context(org_a),
        pytest.raises(IntegrityError, match="tenants_membership_role_fk"),
        transaction.atomic(),
    ):
        Membership.objects.create(user=user, role="superuser")


def test_Z2_a_role_in_use_cannot_be_deleted_even_in_sql(org_a, member_of_a):
    with (
        tenant_context(org_a),
        pytest.raises(IntegrityError, match="tenants_membership_role_fk"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM rbac_role WHERE key = %s", ["staff"])  # ann is staff


def test_Z2_time_boxed_roles_need_an_end(org_a):
    user = make_user("auditor@alpha.example")
    with tenant_context(org_a):
        with pytest.raises(ValidationError, match="time-boxed"):
            membership_create(user=user, role="auditor")
        now = timezone.now()
        membership = guest_access_grant(
            user=user, role="auditor", valid_from=now, valid_until=now + timedelta(days=7)
        )
    assert membership.role == "auditor"


def test_Z3_the_role_and_department_arrive_with_the_membership_in_one_query(org_a):
    department = make_department(org_a, "Operations")
    user = make_user("mia@alpha.example")
    make_membership(org_a, user, role="manager", department=department)
    with tenant_context(org_a), CaptureQueriesContext(connection) as queries:
        membership = active_membership(user)
        assert membership.role_definition.key == "manager"
        assert membership.department.path == department.path
    assert len(queries) == 1


def test_Z5_paths_follow_the_tree_and_a_move_rewrites_the_subtree(org_a):
    north = make_department(org_a, "North")
    south = make_department(org_a, "South")
    leeds = make_department(org_a, "Leeds", parent=north)
    central = make_department(org_a, "Central", parent=leeds)
    assert central.path == f"/{north.pk}/{leeds.pk}/{central.pk}/"
    with tenant_context(org_a):
        department_move(department=leeds, parent=south)
        paths = dict(Department.objects.values_list("name", "path"))
    assert paths["Leeds"] == f"/{south.pk}/{leeds.pk}/"
    assert paths["Central"] == f"/{south.pk}/{leeds.pk}/{central.pk}/"
    assert paths["North"] == f"/{north.pk}/"


def test_Z5_a_move_under_its_own_subtree_is_refused_and_changes_nothing(org_a):
    north = make_department(org_a, "North")
    leeds = make_department(org_a, "Leeds", parent=north)
    with tenant_context(org_a):
        before = dict(Department.objects.values_list("name", "path"))
        for target in (north, leeds):
            with pytest.raises(ValidationError, match="under itself"):
                department_move(department=north, parent=target)
        assert dict(Department.objects.values_list("name", "path")) == before
