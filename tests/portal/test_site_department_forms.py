"""D1 on the web portal: members who may create sites and departments add them from their
pages, through the services (audited, names unique where the organisation needs them to be);
everyone else sees the lists only; another organisation's department cannot be referred to."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.factories import make_department
from tests.portal.conftest import assert_csp_clean
from workforce.models import Department, Site

pytestmark = pytest.mark.django_db

SITES = "/o/alpha/sites/"
DEPARTMENTS = "/o/alpha/departments/"


def _sites(world) -> list[str]:
    with tenant_context(world.org):
        return sorted(Site.objects.values_list("name", flat=True))


def test_D1_an_owner_adds_a_site_in_a_department(world):
    owner = world.client("owner")
    page = owner.get(SITES)
    assert page.status_code == 200 and "Add a site" in page.content.decode()
    assert_csp_clean(page)
    leeds = world.departments["leeds"]
    response = owner.post(
        SITES,
        {"name": "  Canal Wharf ", "address": "1 Canal St\nLeeds", "department": leeds.pk},
        follow=True,
    )
    assert response.redirect_chain == [(SITES, 302)]
    assert "The site Canal Wharf is added." in response.content.decode()
    with tenant_context(world.org):
        site = Site.objects.get(name="Canal Wharf")
        assert AuditEvent.objects.filter(action="site.created", entity_id=str(site.pk)).exists()
    assert (site.department_id, site.address) == (leeds.pk, "1 Canal St\nLeeds")
    # Z4: the north manager now sees it among the sites of their shift scope.
    assert "Canal Wharf" in world.client("manager").get("/o/alpha/shifts/new/").content.decode()


def test_D1_bad_sites_are_refused_with_nothing_saved(world, org_b):
    owner = world.client("owner")
    before = _sites(world)
    bravo_department = make_department(org_b, "Bravo ops")
    for body, message in [
        ({"name": ""}, "This field is required."),
        ({"name": "x" * 201}, "at most 200 characters"),
        ({"name": "Leeds Depot"}, "already exists"),
        ({"name": "Elsewhere", "department": bravo_department.pk}, "Select a valid choice"),
    ]:
        response = owner.post(SITES, body)
        assert response.status_code == 400, body
        assert message in response.content.decode(), body
    assert _sites(world) == before
    shown = owner.post(SITES, {"name": "<b>Bold</b> & Co"}, follow=True).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in shown and "<b>Bold</b>" not in shown


def test_Z1_staff_see_sites_and_departments_without_forms_and_cannot_add(world):
    staff = world.client("staff")
    assert "Add a site" not in staff.get(SITES).content.decode()
    assert "Add a department" not in staff.get(DEPARTMENTS).content.decode()
    before = _sites(world)
    assert staff.post(SITES, {"name": "Sneaky"}).status_code == 403
    assert staff.post(DEPARTMENTS, {"name": "Sneaky"}).status_code == 403
    assert _sites(world) == before
    with tenant_context(world.org):
        assert not Department.objects.filter(name="Sneaky").exists()


def test_D1_an_owner_adds_departments_into_the_tree(world, org_b):
    owner = world.client("owner")
    page = owner.get(DEPARTMENTS)
    assert page.status_code == 200
    assert_csp_clean(page)
    assert ">Ops / North / Leeds<" in page.content.decode()  # where a new one may go
    north = world.departments["north"]
    response = owner.post(DEPARTMENTS, {"name": "Harrogate", "parent": north.pk})
    assert response.status_code == 302
    with tenant_context(world.org):
        harrogate = Department.objects.get(name="Harrogate")
        assert AuditEvent.objects.filter(
            action="department.created", entity_id=str(harrogate.pk)
        ).exists()
    assert harrogate.path == f"{north.path}{harrogate.pk}/"
    assert "Harrogate" in owner.get(DEPARTMENTS).content.decode()

    again = owner.post(DEPARTMENTS, {"name": "Harrogate", "parent": north.pk})
    assert again.status_code == 400
    bravo = make_department(org_b, "Bravo ops")
    abroad = owner.post(DEPARTMENTS, {"name": "Abroad", "parent": bravo.pk})
    assert abroad.status_code == 400 and "Select a valid choice" in abroad.content.decode()
    with tenant_context(world.org):
        assert Department.objects.filter(name="Harrogate").count() == 1
        assert not Department.objects.filter(name="Abroad").exists()
