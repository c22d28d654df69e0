"""The workforce API: creates through the services, input refused per field with nothing
written, token scopes (A17), and lists whose cost does not grow with the rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.factories import make_leave, make_shifts, make_staff_profile
from tokens.services.api_tokens import api_token_create
from workforce.models import Client as ClientAccount
from workforce.models import Department, Document, Expense, LeaveRequest, Shift, Timesheet

pytestmark = pytest.mark.django_db

API = "/api/v1/o/alpha"
SHIFT = {
    "starts_at": "2030-01-01T08:00:00Z",
    "ends_at": "2030-01-01T16:00:00Z",
    "bill_rate": "30.00",
    "pay_rate": "20.00",
}


def _post(client: Client, path: str, body: dict):
    return client.post(f"{API}/{path}", body, content_type="application/json")


def _count(org, model) -> int:
    with tenant_context(org):
        return model.objects.count()


def test_Z4_own_records_are_created_for_the_requesting_member(world):
    staff = world.client("staff")
    leave = _post(staff, "leave/", {"starts_on": "2030-02-01", "ends_on": "2030-02-03"})
    assert leave.status_code == 201, leave.content
    assert leave.json()["member"]["id"] == world.members["staff"].pk
    assert leave.json()["department"]["name"] == "Leeds"
    assert leave.json()["status"] == "pending"
    expense = _post(staff, "expenses/", {"amount": "42.10", "description": "Taxi", "member": 1})
    assert expense.status_code == 201
    assert expense.json()["member"]["id"] == world.members["staff"].pk
    timesheet = _post(
        staff,
        "timesheets/",
        {
            "period_start": "2030-02-03",
            "period_end": "2030-02-09",
            "hours": "37.50",
            "amount": "650.00",
        },
    )
    assert timesheet.status_code == 201
    for path, body in (("leave/", leave), ("expenses/", expense), ("timesheets/", timesheet)):
        assert staff.get(f"{API}/{path}{body.json()['id']}/").json() == body.json()
    with tenant_context(world.org):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"leaverequest.created", "expense.created", "timesheet.created"} <= actions


def test_Z7_a_created_shift_is_answered_as_a_read_would_show_it(world):
    manager = world.client("manager")
    site = world.shifts["north"].site_id
    created = _post(manager, "shifts/", {**SHIFT, "site": site, "internal_notes": "Gate code"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["margin"] == "10.00" and body["internal_notes"] == "Gate code"
    assert manager.get(f"{API}/shifts/{body['id']}/").json() == body


def test_documents_and_clients_are_created_by_those_allowed(world):
    manager = world.client("manager")
    document = _post(manager, "documents/", {"title": "Visa", "member": world.members["staff"].pk})
    assert document.status_code == 201, document.content
    assert document.json()["member"]["id"] == world.members["staff"].pk
    own = _post(manager, "documents/", {"title": "Contract"})
    assert own.json()["member"]["id"] == world.members["manager"].pk
    outside = _post(
        manager, "documents/", {"title": "X", "member": world.members["south_staff"].pk}
    )
    assert outside.status_code == 400 and list(outside.json()) == ["member"]
    client = _post(manager, "clients/", {"name": "Zeta", "internal_notes": "Pays late"})
    assert client.status_code == 201 and client.json()["internal_notes"] == "Pays late"
    assert _post(world.client("staff"), "clients/", {"name": "Nope"}).status_code == 403
    assert _post(world.client("staff"), "documents/", {"title": "Nope"}).status_code == 403


LONG = "x" * 5001
SITE = "<a site of the world>"
BAD_INPUT = [
    # (path, body, fields named in the 400, model that must stay untouched)
    ("leave/", {"starts_on": "2030-02-03", "ends_on": "2030-02-01"}, {"ends_on"}, LeaveRequest),
    (
        "leave/",
        {"starts_on": "2030-02-30", "ends_on": "someday"},
        {"starts_on", "ends_on"},
        LeaveRequest,
    ),
    (
        "leave/",
        {"starts_on": "2030-02-01", "ends_on": "2030-02-01", "reason": LONG},
        {"reason"},
        LeaveRequest,
    ),
    ("expenses/", {"amount": "-1.00", "description": "Refund?"}, {"amount"}, Expense),
    ("expenses/", {"amount": "NaN", "description": "x"}, {"amount"}, Expense),
    ("expenses/", {"amount": "1e30", "description": "x"}, {"amount"}, Expense),
    ("expenses/", {"amount": "1.005", "description": "x"}, {"amount"}, Expense),
    ("expenses/", {"amount": "5.00", "description": LONG}, {"description"}, Expense),
    ("expenses/", {"amount": "5.00"}, {"description"}, Expense),
    (
        "timesheets/",
        {"period_start": "2030-02-09", "period_end": "2030-02-03", "hours": "1", "amount": "1"},
        {"period_end"},
        Timesheet,
    ),
    (
        "timesheets/",
        {"period_start": "2030-02-03", "period_end": "2030-02-09", "hours": "-2", "amount": "1"},
        {"hours"},
        Timesheet,
    ),
    ("shifts/", {**SHIFT, "site": SITE, "ends_at": "2030-01-01T07:00:00Z"}, {"ends_at"}, Shift),
    ("shifts/", {**SHIFT, "site": SITE, "pay_rate": "-0.01"}, {"pay_rate"}, Shift),
    ("shifts/", {**SHIFT, "site": SITE, "internal_notes": LONG}, {"internal_notes"}, Shift),
    ("shifts/", {**SHIFT, "site": SITE, "client": 999_999_999}, {"client"}, Shift),
    ("shifts/", {**SHIFT, "site": 999_999_999}, {"site"}, Shift),
    ("shifts/", {**SHIFT, "site": "Leeds"}, {"site"}, Shift),
    ("shifts/", SHIFT, {"site"}, Shift),
    ("documents/", {"title": "y" * 201}, {"title"}, Document),
    ("clients/", {"name": "", "internal_notes": LONG}, {"name", "internal_notes"}, ClientAccount),
    ("departments/", {"name": "Ops 2", "parent": 999_999_999}, {"parent"}, Department),
    ("departments/", {"name": "z" * 201}, {"name"}, Department),
]


@pytest.mark.parametrize(("path", "body", "fields", "model"), BAD_INPUT)
def test_bad_input_is_a_400_with_field_messages_and_writes_nothing(
    world, path, body, fields, model
):
    owner = world.client("owner")
    site = world.shifts["north"].site_id
    body = {name: site if value == SITE else value for name, value in body.items()}
    rows_before = _count(world.org, model)
    with tenant_context(world.org):
        events_before = AuditEvent.objects.count()
    response = _post(owner, path, body)
    assert response.status_code == 400, response.content
    errors = response.json()
    assert set(errors) == fields
    assert all(
        isinstance(message, str) and message for field in fields for message in errors[field]
    )
    assert _count(world.org, model) == rows_before
    with tenant_context(world.org):
        assert AuditEvent.objects.count() == events_before


def test_a_body_that_is_not_json_is_a_400(world):
    response = world.client("staff").post(
        f"{API}/leave/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def _bearer(world, scopes: list[str]) -> Client:
    with tenant_context(world.org):
        token = api_token_create(
            owner=world.users["manager"],
            name="Rota sync",
            scopes=scopes,
            expires_at=timezone.now() + timedelta(days=30),
            second_factor_verified=False,
        ).token
    return Client(HTTP_HOST=settings.PORTAL_HOST, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_A17_a_token_reads_and_writes_only_within_its_scopes(world):
    reader = _bearer(world, ["shifts:read"])
    assert reader.get(f"{API}/shifts/").status_code == 200
    assert reader.get(f"{API}/shifts/export.csv").status_code == 200
    body = {**SHIFT, "site": world.shifts["north"].site_id}
    assert reader.post(f"{API}/shifts/", body, content_type="application/json").status_code == 403
    assert reader.get(f"{API}/leave/").status_code == 403
    writer = _bearer(world, ["shifts:write"])
    assert writer.post(f"{API}/shifts/", body, content_type="application/json").status_code == 201
    # The owner's scope still bounds the token (Z4): the manager's token sees their subtree.
    listed = {row["site"]["name"] for row in reader.get(f"{API}/shifts/").json()["results"]}
    assert listed == {"North Gate", "Leeds Depot"}


LISTS = (
    "shifts/",
    "shifts/?page_size=200",
    "leave/",
    "leave/?page_size=200",
)


def test_Z4_lists_cost_the_same_queries_for_10_and_1000_visible_rows(world):
    """A department-scoped manager's lists, the export and the page."""
    manager = world.client("manager")
    leeds_site = world.shifts["leeds"].site

    def queries() -> dict[str, int]:
        counts = {}
        for path in [
            *(f"{API}/{p}" for p in LISTS),
            f"{API}/shifts/export.csv",
            "/o/alpha/shifts/",
        ]:
            with CaptureQueriesContext(connection) as captured:
                response = manager.get(path)
                assert response.status_code == 200
                if response.streaming:
                    b"".join(response.streaming_content)
            counts[path] = len(captured)
        return counts

    # D2, D3: one member's shifts and leave may not overlap and their leave must fit their
    # allowance, so each batch starts after the last (and after the world's shifts, a day from
    # now, and its leave, a week from now) and the member gets an allowance large enough for
    # years of one-day requests.
    make_staff_profile(world.org, world.members["staff"], annual_leave_days=Decimal("9999"))
    added = 0

    def add(count: int) -> None:
        nonlocal added
        make_shifts(
            world.org,
            count,
            site=leeds_site,
            member=world.members["staff"],
            starts_at=timezone.now().replace(microsecond=0) + timedelta(days=2 + added),
        )
        start = timezone.localdate() + timedelta(days=8)
        for i in range(count):
            make_leave(world.org, world.members["staff"], start + timedelta(days=added + i))
        added += count

    add(8)  # 10 visible of each: 2 from the world and 8 more
    small = queries()
    add(990)
    large = queries()
    assert large == small
    # Session, user, organisation, context, membership, then the rows (the page adds its
    # count; the export records itself and reads in its own context), plus the test's
    # savepoints.
    lists = [large[f"{API}/{path}"] for path in LISTS]
    assert max(lists) <= 9, large
    assert large["/o/alpha/shifts/"] <= max(lists) + 1, large
    assert large[f"{API}/shifts/export.csv"] <= max(lists) + 8, large
