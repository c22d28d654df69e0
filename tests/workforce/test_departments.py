"""Z5: the department tree through the API. A move carries the whole subtree (every
descendant's materialised path); a move that would make a cycle, an unknown parent and
another organisation's department (T4) are 400s that change nothing."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.factories import make_department, make_membership, make_organization, make_user
from workforce.models import Department

pytestmark = pytest.mark.django_db

DEPARTMENTS = "/api/v1/o/alpha/departments/"


@pytest.fixture
def admin(org_a) -> Client:
    user = make_user("admin@alpha.example")
    make_membership(org_a, user, role="admin")
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


def _create(client: Client, name: str, parent: int | None = None) -> dict:
    response = client.post(
        DEPARTMENTS, {"name": name, "parent": parent}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _patch(client: Client, department_id: int, body: dict):
    return client.patch(f"{DEPARTMENTS}{department_id}/", body, content_type="application/json")


def _paths(org) -> dict[str, str]:
    with tenant_context(org):
        return dict(Department.objects.values_list("name", "path"))


def test_Z5_nested_departments_and_a_subtree_move(admin, org_a):
    ops = _create(admin, "Ops")
    north = _create(admin, "North", ops["id"])
    leeds = _create(admin, "Leeds", north["id"])
    docks = _create(admin, "Docks", leeds["id"])
    sales = _create(admin, "Sales")
    assert docks["path"] == f"/{ops['id']}/{north['id']}/{leeds['id']}/{docks['id']}/"
    assert docks["parent"] == leeds["id"]

    moved = _patch(admin, north["id"], {"parent": sales["id"]})
    assert moved.status_code == 200, moved.content
    assert moved.json()["parent"] == sales["id"]
    s, n, le, d = sales["id"], north["id"], leeds["id"], docks["id"]
    assert _paths(org_a) == {
        "Ops": f"/{ops['id']}/",
        "Sales": f"/{s}/",
        "North": f"/{s}/{n}/",
        "Leeds": f"/{s}/{n}/{le}/",
        "Docks": f"/{s}/{n}/{le}/{d}/",
    }
    listed = admin.get(DEPARTMENTS).json()["results"]
    assert [row["name"] for row in listed if row["path"].startswith(f"/{s}/")] == [
        "Sales",
        "North",
        "Leeds",
        "Docks",
    ]

    # Back to the top level.
    assert _patch(admin, north["id"], {"parent": None}).json()["path"] == f"/{n}/"
    assert _paths(org_a)["Docks"] == f"/{n}/{le}/{d}/"
    with tenant_context(org_a):
        assert AuditEvent.objects.filter(action="department.moved").count() == 2


def test_Z5_moving_under_itself_or_a_descendant_is_400_and_changes_nothing(admin, org_a):
    ops = _create(admin, "Ops")
    north = _create(admin, "North", ops["id"])
    leeds = _create(admin, "Leeds", north["id"])
    before = _paths(org_a)
    for target in (ops, north, leeds):
        response = _patch(admin, ops["id"], {"parent": target["id"]})
        assert response.status_code == 400, target
        assert response.json() == {
            "parent": ["A department cannot move under itself or one of its own children."]
        }
    assert _paths(org_a) == before
    with tenant_context(org_a):
        assert not AuditEvent.objects.filter(action="department.moved").exists()


def test_Z5_T4_an_unknown_or_foreign_parent_is_400_and_changes_nothing(admin, org_a):
    ops = _create(admin, "Ops")
    north = _create(admin, "North", ops["id"])
    foreign = make_department(make_organization("Bravo Care", "bravo"), "Bravo Ops")
    before = _paths(org_a)
    for parent in (foreign.pk, 999_999_999, 10**30, "north", True):
        moved = _patch(admin, north["id"], {"parent": parent})
        assert moved.status_code == 400, (parent, moved.content)
        assert list(moved.json()) == ["parent"]
        created = admin.post(
            DEPARTMENTS, {"name": "Stray", "parent": parent}, content_type="application/json"
        )
        assert created.status_code == 400, (parent, created.content)
        assert list(created.json()) == ["parent"]
    # The foreign id and a never-used one get the same answer: nothing to probe.
    unknown = _patch(admin, north["id"], {"parent": 999_999_999}).json()["parent"][0]
    assert _patch(admin, north["id"], {"parent": foreign.pk}).json()["parent"][0] == (
        unknown.replace("999999999", str(foreign.pk))
    )
    assert _paths(org_a) == before
    # Another organisation's department is not there to change either.
    assert _patch(admin, foreign.pk, {"parent": None}).status_code == 404


def test_Z5_names_are_unique_under_one_parent(admin, org_a):
    ops = _create(admin, "Ops")
    _create(admin, "North", ops["id"])
    north_2 = _create(admin, "North")
    duplicate = admin.post(
        DEPARTMENTS, {"name": "North", "parent": ops["id"]}, content_type="application/json"
    )
    assert duplicate.status_code == 400 and list(duplicate.json()) == ["name"]
    clash = _patch(admin, north_2["id"], {"parent": ops["id"]})
    assert clash.status_code == 400 and list(clash.json()) == ["parent"]
    assert _paths(org_a)["North"] in {f"/{ops['id']}/{north_2['id']}/", f"/{north_2['id']}/"}
    with tenant_context(org_a):
        assert Department.objects.filter(name="North").count() == 2


def test_Z5_setting_and_clearing_a_head(admin, org_a):
    ops = _create(admin, "Ops")
    head = make_membership(org_a, make_user("head@alpha.example"), role="manager")
    outsider = make_membership(
        make_organization("Bravo Care", "bravo"), make_user("b@bravo.example")
    )
    response = _patch(admin, ops["id"], {"head": head.pk})
    assert response.status_code == 200
    assert response.json()["head"] == {"id": head.pk, "name": "head@alpha.example"}
    assert _patch(admin, ops["id"], {"head": outsider.pk}).status_code == 400
    assert _patch(admin, ops["id"], {}).status_code == 400
    assert _patch(admin, ops["id"], {"head": None}).json()["head"] is None


def test_Z5_a_refused_move_sets_no_head_either(admin, org_a):
    ops = _create(admin, "Ops")
    north = _create(admin, "North", ops["id"])
    head = make_membership(org_a, make_user("head@alpha.example"), role="manager")
    response = _patch(admin, ops["id"], {"head": head.pk, "parent": north["id"]})
    assert response.status_code == 400
    assert admin.get(f"{DEPARTMENTS}{ops['id']}/").json()["head"] is None


def test_Z1_department_changes_need_department_permissions(admin, org_a):
    ops = _create(admin, "Ops")
    manager = make_user("manager@alpha.example")
    make_membership(org_a, manager, role="manager")
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(manager)
    assert client.get(DEPARTMENTS).status_code == 200
    assert client.post(DEPARTMENTS, {"name": "X"}, content_type="application/json").status_code == (
        403
    )
    assert _patch(client, ops["id"], {"parent": None}).status_code == 403
