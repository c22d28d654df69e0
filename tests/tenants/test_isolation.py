"""T1/T2/T4 through the runtime role: the ORM, raw SQL and the database all refuse to cross
an organisation boundary, and refuse everything without a context."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.utils import ProgrammingError

from tenants.context import TenantContextMissing, tenant_context
from tenants.models import Membership
from tests.factories import make_department, make_sites
from workforce.models import Site
from workforce.services import site_create

pytestmark = pytest.mark.django_db


def _scalar(query: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


@pytest.fixture
def sites(org_a, org_b):
    return make_sites(org_a, 3, "A"), make_sites(org_b, 2, "B")


def test_T2_raw_cursor_without_context_sees_nothing_and_cannot_insert(org_a, sites):
    assert _scalar("SELECT count(*) FROM workforce_site") == 0
    assert _scalar("SELECT count(*) FROM tenants_membership") == 0
    with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
        _scalar(
            "INSERT INTO workforce_site (organization_id, name, address, created_at) "
            "VALUES (%s, 'x', '', now()) RETURNING id",
            [org_a.pk],
        )


def test_T1_tenant_manager_refuses_to_run_without_context(sites):
    with pytest.raises(TenantContextMissing):
        list(Site.objects.all())
    with pytest.raises(TenantContextMissing):
        Site(name="Nowhere").save()


def test_T2_context_shows_only_own_rows_to_orm_and_raw_sql(org_a, org_b, sites):
    a_sites, b_sites = sites
    with tenant_context(org_a):
        assert {s.pk for s in Site.objects.all()} == {s.pk for s in a_sites}
        assert _scalar("SELECT count(*) FROM workforce_site") == 3
        assert not Site.objects.filter(pk=b_sites[0].pk).exists()
        assert _scalar("SELECT count(*) FROM workforce_site WHERE id = %s", [b_sites[0].pk]) == 0
    with tenant_context(org_b):
        assert _scalar("SELECT count(*) FROM workforce_site") == 2


def test_T2_other_organisations_rows_cannot_be_updated_or_deleted(org_a, sites):
    _, b_sites = sites
    with tenant_context(org_a):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE workforce_site SET name = 'pwned' WHERE id = %s", [b_sites[0].pk]
            )
            assert cursor.rowcount == 0
            cursor.execute("DELETE FROM workforce_site WHERE organization_id <> %s", [org_a.pk])
            assert cursor.rowcount == 0
        assert Site._base_manager.filter(name="pwned").count() == 0


def test_T2_inserting_a_row_for_another_organisation_fails(org_a, org_b):
    with tenant_context(org_a):
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            _scalar(
                "INSERT INTO workforce_site (organization_id, name, address, created_at) "
                "VALUES (%s, 'x', '', now()) RETURNING id",
                [org_b.pk],
            )
        moved = Site(name="moved")
        moved.organization_id = org_b.pk
        with pytest.raises(ValueError, match="own organisation"):
            moved.save()


def test_T2_moving_a_row_to_another_organisation_fails(org_a, org_b, sites):
    a_sites, _ = sites
    with (
        tenant_context(org_a),
        pytest.raises(ProgrammingError, match="row-level security"),
        transaction.atomic(),
    ):
        _scalar(
            "UPDATE workforce_site SET organization_id = %s WHERE id = %s RETURNING id",
            [org_b.pk, a_sites[0].pk],
        )


def test_T2_context_is_restored_after_a_nested_context(org_a, org_b, sites):
    with tenant_context(org_a):
        with tenant_context(org_b):
            assert _scalar("SELECT count(*) FROM workforce_site") == 2
        assert _scalar("SELECT count(*) FROM workforce_site") == 3
    assert _scalar("SELECT count(*) FROM workforce_site") == 0


def test_T2_context_is_restored_after_an_error_inside_it(org_a, sites):
    with pytest.raises(RuntimeError), tenant_context(org_a):
        raise RuntimeError("boom")
    assert _scalar("SELECT count(*) FROM workforce_site") == 0


def test_T4_site_cannot_reference_another_organisations_department(org_a, org_b):
    b_department = make_department(org_b, "B operations")
    with tenant_context(org_a):
        # The service refuses first: B's department is invisible under A's context.
        with pytest.raises(ValidationError):
            site_create(name="Sneaky", department=b_department)
        # And the database refuses a raw write that skips validation.
        with pytest.raises(IntegrityError, match="same_org_fk"), transaction.atomic():
            Site(name="Raw sneaky", department_id=b_department.pk).save()


def test_T4_department_parent_must_be_in_the_same_organisation(org_a, org_b):
    b_root = make_department(org_b, "B root")
    with tenant_context(org_a), pytest.raises(IntegrityError), transaction.atomic():
        _scalar(
            "INSERT INTO workforce_department (organization_id, name, parent_id, created_at) "
            "VALUES (%s, 'child', %s, now()) RETURNING id",
            [org_a.pk, b_root.pk],
        )


def test_T1_membership_rows_are_tenant_scoped(org_a, org_b, member_of_a):
    with tenant_context(org_b):
        assert not Membership.objects.filter(user=member_of_a).exists()
    with tenant_context(org_a):
        assert Membership.objects.filter(user=member_of_a).count() == 1
