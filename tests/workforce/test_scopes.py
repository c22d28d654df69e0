"""Z4: visibility scopes in the query layer. What a member's role may not see of a module is
absent from lists, counts and exports, and a 404 by id, on every surface."""

from __future__ import annotations

import csv
import io

import pytest

from tenants.context import tenant_context
from tests.factories import (
    make_leave,
    make_membership,
    make_organization,
    make_shift,
    make_shifts,
    make_site,
    make_user,
)
from workforce.services import record_soft_delete

pytestmark = pytest.mark.django_db

API = "/api/v1/o/alpha"


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _export_sites(response) -> list[str]:
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    return sorted(row["site"] for row in rows)


def test_Z4_manager_sees_their_department_and_the_ones_below_not_a_sibling(world):
    manager = world.client("manager")
    shifts = world.shifts
    assert _ids(manager.get(f"{API}/shifts/")) == {shifts["north"].pk, shifts["leeds"].pk}
    assert _ids(manager.get(f"{API}/leave/")) == {
        world.leave["manager"].pk,
        world.leave["staff"].pk,
    }
    assert manager.get(f"{API}/shifts/{shifts['south'].pk}/").status_code == 404
    assert manager.get(f"{API}/shifts/{shifts['ops'].pk}/").status_code == 404
    assert manager.get(f"{API}/leave/{world.leave['south_staff'].pk}/").status_code == 404
    assert manager.get(f"{API}/shifts/{shifts['leeds'].pk}/").status_code == 200
    assert _export_sites(manager.get(f"{API}/shifts/export.csv")) == ["Leeds Depot", "North Gate"]


def test_Z4_staff_see_only_their_own_records(world):
    staff = world.client("staff")
    assert _ids(staff.get(f"{API}/shifts/")) == {world.shifts["leeds"].pk}
    assert _ids(staff.get(f"{API}/leave/")) == {world.leave["staff"].pk}
    # The manager's leave is in the staff member's department's parent; still not theirs.
    for path in (
        f"shifts/{world.shifts['north'].pk}/",
        f"leave/{world.leave['manager'].pk}/",
        f"leave/{world.leave['south_staff'].pk}/",
    ):
        assert staff.get(f"{API}/{path}").status_code == 404, path


def test_Z4_a_client_contact_sees_their_clients_shifts(world):
    contact = world.client("client")
    assert _ids(contact.get(f"{API}/shifts/")) == {
        world.shifts["north"].pk,
        world.shifts["leeds"].pk,
    }
    assert contact.get(f"{API}/shifts/{world.shifts['south'].pk}/").status_code == 404


def test_Z4_owner_and_auditor_see_everything(world):
    every_shift = {shift.pk for shift in world.shifts.values()}
    every_leave = {leave.pk for leave in world.leave.values()}
    for role in ("owner", "auditor"):
        client = world.client(role)
        assert _ids(client.get(f"{API}/shifts/")) == every_shift, role
        assert _ids(client.get(f"{API}/leave/")) == every_leave, role
    assert _export_sites(world.client("owner").get(f"{API}/shifts/export.csv")) == [
        "Leeds Depot",
        "North Gate",
        "Ops HQ",
        "South Yard",
    ]


def test_Z4_the_list_and_export_leave_out_hidden_rows_beyond_the_first_page(world):
    """Counted over many pages, so a filter applied to a page only would show."""
    north_site = world.shifts["north"].site
    south_site = world.shifts["south"].site
    make_shift(world.org, site=north_site)
    make_shifts(world.org, 60, site=south_site)
    make_shifts(world.org, 55, site=north_site)
    manager = world.client("manager")
    seen, url = [], f"{API}/shifts/?page_size=20"
    while url:
        page = manager.get(url).json()
        seen += [row["site"]["name"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == 2 + 1 + 55
    assert "South Yard" not in seen and "Ops HQ" not in seen
    exported = _export_sites(manager.get(f"{API}/shifts/export.csv"))
    assert len(exported) == len(seen) and "South Yard" not in exported


def test_Z4_soft_deleted_rows_are_gone_for_everyone(world):
    with tenant_context(world.org):
        record_soft_delete(record=world.shifts["north"])
    owner = world.client("owner")
    assert world.shifts["north"].pk not in _ids(owner.get(f"{API}/shifts/"))
    assert owner.get(f"{API}/shifts/{world.shifts['north'].pk}/").status_code == 404
    assert "North Gate" not in _export_sites(owner.get(f"{API}/shifts/export.csv"))


def test_Z4_another_organisations_ids_are_404_for_every_role(world):
    bravo = make_organization("Bravo Care", "bravo")
    bravo_owner = make_membership(bravo, make_user("boss@bravo.example"), role="owner")
    bravo_shift = make_shift(bravo, site=make_site(bravo, "Bravo Site"))
    bravo_leave = make_leave(bravo, bravo_owner)
    for role in ("owner", "manager", "staff", "client", "auditor"):
        client = world.client(role)
        assert client.get(f"{API}/shifts/{bravo_shift.pk}/").status_code == 404, role
        assert bravo_shift.pk not in _ids(client.get(f"{API}/shifts/")), role
        # Clients may not view leave at all: refused whatever the id, so no oracle either.
        leave = client.get(f"{API}/leave/{bravo_leave.pk}/").status_code
        assert leave == (403 if role == "client" else 404), role
        # Nor through the other organisation's URL: not a member there.
        assert client.get(f"/api/v1/o/bravo/shifts/{bravo_shift.pk}/").status_code == 404


def test_Z4_a_department_manager_cannot_create_work_outside_their_departments(world):
    manager = world.client("manager")
    body = {
        "starts_at": "2030-01-01T08:00:00Z",
        "ends_at": "2030-01-01T16:00:00Z",
        "bill_rate": "30.00",
        "pay_rate": "20.00",
    }
    outside = manager.post(
        f"{API}/shifts/",
        {**body, "site": world.shifts["south"].site_id},
        content_type="application/json",
    )
    assert outside.status_code == 400 and "site" in outside.json()
    stranger = manager.post(
        f"{API}/shifts/",
        {**body, "site": world.shifts["leeds"].site_id, "member": world.members["south_staff"].pk},
        content_type="application/json",
    )
    assert stranger.status_code == 400 and "member" in stranger.json()
    inside = manager.post(
        f"{API}/shifts/",
        {**body, "site": world.shifts["leeds"].site_id, "member": world.members["staff"].pk},
        content_type="application/json",
    )
    assert inside.status_code == 201, inside.content
    assert inside.json()["department"]["name"] == "Leeds"
