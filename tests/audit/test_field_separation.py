"""Z7 in the audit log: events keep every changed value, so reading the log must not become a
way round field separation. An admin (audit_log.view, not pay_rate.view) reads shift and
timesheet events without their pay; an owner or an auditor reads them whole. Taking the whole
log out (an export, a new stream sink) needs a role that receives every guarded field."""

import pytest

from audit.models import AuditEvent
from rbac.services import role_create
from tenants.context import tenant_context
from tenants.models import Membership
from tests.factories import (
    make_client,
    make_expense,
    make_membership,
    make_shift,
    make_site,
    make_timesheet,
    make_user,
)

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/o/alpha/audit/events/"


@pytest.fixture
def as_role(portal_client, org_a):
    def sign_in(role: str):
        user = make_user(f"{role}@alpha.example")
        membership = make_membership(org_a, user)
        with tenant_context(org_a):
            Membership.objects.filter(pk=membership.pk).update(role=role)
        portal_client.force_login(user)
        return portal_client

    return sign_in


@pytest.fixture
def paid_records(org_a, member_of_a):
    """A shift with pay, bill rate and notes; a timesheet (its amount is pay); an expense
    (its amount is not)."""
    with tenant_context(org_a):
        member = Membership.objects.get(user=member_of_a)
    shift = make_shift(
        org_a,
        site=make_site(org_a, "Depot"),
        client=make_client(org_a, "Acme", internal_notes="Pays late"),
        member=member,
        pay_rate="21.50",
        bill_rate="33.00",
        internal_notes="Key under the mat",
    )
    timesheet = make_timesheet(org_a, member, amount="812.40")
    make_expense(org_a, member, amount="12.50")
    return shift, timesheet


def _event(client, action: str) -> dict:
    [event] = client.get(EVENTS, {"action": action}).json()["results"]
    return event


def test_Z7_an_admin_reads_the_log_without_pay_rates_or_notes(as_role, paid_records):
    admin = as_role(Membership.Role.ADMIN)
    shift = _event(admin, "shift.created")
    assert shift["withheld"] == ["bill_rate", "internal_notes", "pay_rate"]
    assert not {"21.50", "33.00", "Key under the mat"} & {v[1] for v in shift["changes"].values()}
    assert shift["changes"]["site"][1] == paid_records[0].site_id

    timesheet = _event(admin, "timesheet.created")
    assert timesheet["withheld"] == ["amount"] and "812.40" not in str(timesheet)
    assert timesheet["changes"]["hours"][1] == "37.50"
    expense = _event(admin, "expense.created")  # an expense's amount is not pay
    assert (expense["changes"]["amount"][1], expense["withheld"]) == ("12.50", [])

    body = admin.get(EVENTS, {"page_size": 1000}).content.decode()
    assert not {"21.50", "33.00", "812.40", "Key under the mat", "Pays late"} & set(body.split('"'))


def test_Z7_the_record_timeline_api_withholds_the_same_values(as_role, paid_records):
    _, timesheet = paid_records
    admin = as_role(Membership.Role.ADMIN)
    response = admin.get(f"/api/v1/o/alpha/audit/timeline/workforce.timesheet/{timesheet.pk}/")
    [created] = response.json()["results"]
    assert created["withheld"] == ["amount"] and "812.40" not in response.content.decode()


@pytest.mark.parametrize("role", [Membership.Role.OWNER, Membership.Role.AUDITOR])
def test_Z7_owners_and_auditors_read_every_value(as_role, paid_records, role):
    reader = as_role(role)
    shift = _event(reader, "shift.created")
    assert (shift["changes"]["pay_rate"][1], shift["withheld"]) == ("21.50", [])
    assert _event(reader, "timesheet.created")["changes"]["amount"][1] == "812.40"


def test_Z7_a_custom_role_without_internal_notes_reads_no_notes(as_role, org_a, paid_records):
    with tenant_context(org_a):
        role_create(name="Log reader", permissions={"audit_log.view", "pay_rate.view"})
    reader = as_role("log-reader")
    shift = _event(reader, "shift.created")
    assert shift["withheld"] == ["bill_rate", "internal_notes"]
    assert shift["changes"]["pay_rate"][1] == "21.50"
    client = _event(reader, "client.created")
    assert client["withheld"] == ["internal_notes"] and "Pays late" not in str(client)


def _export(client):
    return client.post(
        "/api/v1/o/alpha/audit/exports/",
        {"format": "jsonl", "purpose": "Quarterly review of pay"},
        content_type="application/json",
    )


def test_Z7_an_admin_may_not_export_the_whole_log(as_role, org_a, paid_records):
    assert _export(as_role(Membership.Role.ADMIN)).status_code == 403
    with tenant_context(org_a):
        assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_Z7_a_role_that_may_export_but_not_see_pay_is_refused_and_it_is_recorded(
    as_role, org_a, paid_records
):
    with tenant_context(org_a):
        role_create(name="Exporter", permissions={"audit_log.view", "audit_log.export"})
    response = _export(as_role("exporter"))
    assert response.status_code == 403
    assert "pay rates" in response.json()["detail"]
    with tenant_context(org_a):
        assert not AuditEvent.objects.filter(action="audit.exported").exists()
        [denial] = AuditEvent.objects.filter(action="access.denied")
    assert (denial.actor_role, denial.entity_type) == ("exporter", "audit_log")
    assert denial.changes["permission"] == [
        None,
        "bill_rate.view and internal_note.view and margin.view and pay_rate.view",
    ]


def test_Z7_an_auditor_exports_the_whole_log(as_role, paid_records):
    auditor = as_role(Membership.Role.AUDITOR)
    response = auditor.post(
        "/api/v1/o/alpha/audit/exports/",
        {"format": "jsonl", "purpose": "Annual ISO 27001 audit"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert "812.40" in b"".join(response.streaming_content).decode()


def test_Z7_an_admin_lists_sinks_but_may_not_add_one(as_role, org_a):
    admin = as_role(Membership.Role.ADMIN)
    assert admin.get("/api/v1/o/alpha/audit/sinks/").status_code == 200
    refused = admin.post(
        "/api/v1/o/alpha/audit/sinks/",
        {"name": "Mine", "url": "https://siem.example/hook"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    with tenant_context(org_a):
        assert not AuditEvent.objects.filter(action__startswith="audit_sink.").exists()
