"""Z6: attribute rules on every approval, through the API: no self-approval, heads approve only
within their department, amount limits per role, multi-step chains; every decision is an
audit event that outlives the refused request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from rbac.approvals import ApprovalDenied, record_approve
from rbac.models import ApprovalStep
from tenants.context import tenant_context
from tests.factories import (
    make_department,
    make_expense,
    make_leave,
    make_membership,
    make_organization,
    make_timesheet,
    make_user,
)
from tokens.services.api_tokens import api_token_create
from workforce.models import Expense, Timesheet
from workforce.services import department_set_head, record_soft_delete

pytestmark = pytest.mark.django_db

API = "/api/v1/o/alpha/approvals"


class Alpha:
    """Operations with North and South below it, and Finance apart:

    - ``head``: a manager in Operations (so North and South are in their department scope)
      who heads North only;
    - ``idle``: a manager in North who heads nothing;
    - ``north``, ``south``, ``finance``: staff in those departments;
    - ``owner`` and ``owner2``: owners (scope ``all``, no department needed).
    """

    def __init__(self, org):
        self.org = org
        self.operations = make_department(org, "Operations")
        self.north = make_department(org, "North", self.operations)
        self.south = make_department(org, "South", self.operations)
        self.finance = make_department(org, "Finance")
        self.members = {}
        self.clients = {}
        for name, role, department in [
            ("owner", "owner", None),
            ("owner2", "owner", None),
            ("head", "manager", self.operations),
            ("idle", "manager", self.north),
            ("north", "staff", self.north),
            ("south", "staff", self.south),
            ("finance", "staff", self.finance),
        ]:
            user = make_user(f"{name}@alpha.example")
            self.members[name] = make_membership(org, user, role=role, department=department)
            client = Client(HTTP_HOST=settings.PORTAL_HOST)
            client.force_login(user)
            self.clients[name] = client
        with tenant_context(org):
            department_set_head(department=self.north, head=self.members["head"])

    def decide(self, who: str, subject: str, record, verdict: str = "approve"):
        return self.clients[who].post(
            f"{API}/{subject}/{record.pk}/{verdict}/", content_type="application/json"
        )

    def events(self, record, action: str | None = None) -> list[AuditEvent]:
        with tenant_context(self.org):
            events = AuditEvent.objects.filter(
                entity_type=record._meta.label_lower, entity_id=str(record.pk)
            ).order_by("seq")
            if action is not None:
                events = events.filter(action=action)
            return list(events)

    def reasons(self, record) -> list[tuple[str, str]]:
        return [
            (event.action, event.changes["reason"][1])
            for event in self.events(record)
            if event.action.startswith("approval.")
        ]

    def status_of(self, record) -> str:
        with tenant_context(self.org):
            return type(record).all_objects.get(pk=record.pk).status

    def steps_of(self, record) -> list[tuple[int, int]]:
        with tenant_context(self.org):
            return list(
                ApprovalStep.objects.filter(entity_id=record.pk).values_list("step", "approver_id")
            )


@pytest.fixture
def alpha(org_a):
    return Alpha(org_a)


def test_Z6_nobody_approves_their_own_submission(alpha):
    own = make_expense(alpha.org, alpha.members["head"], amount="20.00")
    response = alpha.decide("head", "expense", own)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Nobody approves or rejects their own submission.",
        "reason": "self_approval",
    }
    owners_own = make_leave(alpha.org, alpha.members["owner"])
    assert alpha.decide("owner", "leave", owners_own).json()["reason"] == "self_approval"
    assert alpha.status_of(own) == alpha.status_of(owners_own) == "pending"
    assert alpha.steps_of(own) == []


def test_Z6_a_head_approves_within_their_department_only(alpha):
    in_north = make_expense(alpha.org, alpha.members["north"])
    in_south = make_expense(alpha.org, alpha.members["south"])
    # The head sees South through their department scope (Operations and below) ...
    assert alpha.clients["head"].get(f"{API}/expense/{in_south.pk}/").status_code == 200
    # ... but heads only North, so South is not theirs to approve.
    refused = alpha.decide("head", "expense", in_south)
    assert refused.status_code == 403
    assert refused.json()["reason"] == "outside_department"
    assert alpha.decide("head", "expense", in_north).status_code == 200
    assert alpha.status_of(in_north) == "approved"
    assert alpha.status_of(in_south) == "pending"


def test_Z6_a_manager_who_heads_nothing_approves_nothing(alpha):
    in_north = make_leave(alpha.org, alpha.members["north"])
    response = alpha.decide("idle", "leave", in_north)
    assert response.status_code == 403
    assert response.json()["reason"] == "outside_department"
    assert alpha.decide("idle", "leave", in_north, "reject").json()["reason"] == (
        "outside_department"
    )
    assert alpha.status_of(in_north) == "pending"


def test_Z6_a_record_outside_the_approvers_scope_is_404(alpha):
    in_finance = make_expense(alpha.org, alpha.members["finance"])
    assert alpha.decide("head", "expense", in_finance).status_code == 404
    assert alpha.clients["head"].get(f"{API}/expense/{in_finance.pk}/").status_code == 404
    assert alpha.reasons(in_finance) == []
    # The owner sees and decides everything: no department restriction for scope "all".
    assert alpha.decide("owner", "expense", in_finance).status_code == 200


def test_Z6_amount_limits_per_role(alpha):
    at_limit = make_expense(alpha.org, alpha.members["north"], amount="1000.00")
    above = make_expense(alpha.org, alpha.members["north"], amount="1000.01")
    assert alpha.decide("head", "expense", at_limit).status_code == 200
    refused = alpha.decide("head", "expense", above)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "1000.01 is above your role's approval limit of 1000.00 for expense records.",
        "reason": "above_threshold",
    }
    assert alpha.status_of(above) == "pending"
    # The owner's role has no limit.
    large = make_expense(alpha.org, alpha.members["north"], amount="250000.00")
    assert alpha.decide("owner", "expense", large).status_code == 200
    assert alpha.status_of(above) == "pending" and alpha.status_of(large) == "approved"


def test_Z6_timesheets_go_through_two_steps_in_order(alpha):
    timesheet = make_timesheet(alpha.org, alpha.members["north"])
    # Step 2 is the owner's; a manager cannot take it, before or after step 1.
    first = alpha.decide("head", "timesheet", timesheet)
    assert first.status_code == 200
    assert first.json()["status"] == "pending" and first.json()["next_step"] == 1
    assert alpha.status_of(timesheet) == "pending"
    refused = alpha.decide("head", "timesheet", timesheet)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Step 2 of 2 is decided by: owner.",
        "reason": "not_this_step",
    }
    last = alpha.decide("owner", "timesheet", timesheet)
    assert last.status_code == 200 and last.json()["status"] == "approved"
    assert alpha.steps_of(timesheet) == [
        (0, alpha.members["head"].pk),
        (1, alpha.members["owner"].pk),
    ]
    state = alpha.clients["north"].get(f"{API}/timesheet/{timesheet.pk}/").json()
    assert state["chain"] == [["client", "manager", "owner"], ["owner"]]
    assert [step["approver"]["email"] for step in state["steps"]] == [
        "head@alpha.example",
        "owner@alpha.example",
    ]
    assert state["next_step"] is None and state["your_decision"] is None
    # Decided is decided.
    again = alpha.decide("owner2", "timesheet", timesheet)
    assert again.status_code == 409 and again.json()["reason"] == "not_pending"


def test_Z6_an_owner_cannot_skip_a_step_nor_take_two(alpha):
    timesheet = make_timesheet(alpha.org, alpha.members["south"])
    # An owner's first approval is step 1, never the last: the record stays pending.
    assert alpha.decide("owner", "timesheet", timesheet).status_code == 200
    assert alpha.status_of(timesheet) == "pending"
    refused = alpha.decide("owner", "timesheet", timesheet)
    assert refused.status_code == 403 and refused.json()["reason"] == "already_decided"
    assert alpha.status_of(timesheet) == "pending"
    assert alpha.decide("owner2", "timesheet", timesheet).status_code == 200
    assert alpha.status_of(timesheet) == "approved"


def test_Z6_a_rejection_needs_the_same_right_as_the_step(alpha):
    timesheet = make_timesheet(alpha.org, alpha.members["north"])
    assert alpha.decide("head", "timesheet", timesheet).status_code == 200
    # Step 2 is the owner's, so the manager cannot reject it either.
    refused = alpha.decide("head", "timesheet", timesheet, "reject")
    assert refused.status_code == 403 and refused.json()["reason"] == "not_this_step"
    assert alpha.decide("owner", "timesheet", timesheet, "reject").status_code == 200
    assert alpha.status_of(timesheet) == "rejected"
    # A rejection takes no step.
    assert alpha.steps_of(timesheet) == [(0, alpha.members["head"].pk)]


def test_Z6_staff_cannot_approve_at_all(alpha):
    colleague = make_leave(alpha.org, alpha.members["south"])
    response = alpha.decide("north", "leave", colleague)
    # The declared permission (leave.approve) refuses before the view runs.
    assert response.status_code == 403
    assert alpha.status_of(colleague) == "pending"
    with tenant_context(alpha.org):
        assert AuditEvent.objects.filter(
            action="access.denied", changes__permission=[None, "leave.approve"]
        ).exists()


def test_Z6_every_decision_is_an_audit_event_with_its_reason(alpha):
    """Denials answer 403, which rolls the request back; their events are written after."""
    expense = make_expense(alpha.org, alpha.members["north"], amount="1500.00")
    alpha.decide("north", "expense", expense)  # declared permission: access.denied
    alpha.decide("idle", "expense", expense)
    alpha.decide("head", "expense", expense)
    alpha.decide("owner", "expense", expense)
    assert alpha.reasons(expense) == [
        ("approval.denied", "outside_department"),
        ("approval.denied", "above_threshold"),
        ("approval.allowed", "allowed"),
    ]
    denied, allowed = alpha.events(expense, "approval.denied")[1], alpha.events(expense)[-1]
    assert denied.actor_role == "manager"
    assert denied.changes["amount"] == [None, "1500.00"]
    assert denied.changes["subject"] == [None, "expense"]
    assert denied.changes["step"] == [None, 0]
    assert denied.changes["status"] == ["pending", "pending"]
    assert allowed.changes["status"] == ["pending", "approved"]
    assert allowed.changes["decision"] == [None, "approve"]
    assert allowed.actor_role == "owner"


def test_Z6_a_deleted_record_is_404_and_nothing_is_written(alpha):
    expense = make_expense(alpha.org, alpha.members["north"])
    with tenant_context(alpha.org):
        record_soft_delete(record=expense)
    before = alpha.events(expense)
    for verdict in ("approve", "reject"):
        assert alpha.decide("owner", "expense", expense, verdict).status_code == 404
    assert alpha.clients["owner"].get(f"{API}/expense/{expense.pk}/").status_code == 404
    assert alpha.events(expense) == before
    assert alpha.steps_of(expense) == []
    with tenant_context(alpha.org):
        assert Expense.all_objects.get(pk=expense.pk).status == "pending"


def test_Z6_another_organisations_record_and_unknown_ids_are_404(alpha):
    bravo = make_organization("Bravo Care", "bravo")
    theirs = make_expense(bravo, make_membership(bravo, make_user("bob@bravo.example")))
    assert alpha.decide("owner", "expense", theirs).status_code == 404
    for path in (
        f"{API}/expense/{theirs.pk}/approve/",
        f"{API}/expense/999999/approve/",
        f"{API}/expense/{2**64}/approve/",
        f"{API}/payroll/1/approve/",
        f"{API}/expense/abc/approve/",
    ):
        response = alpha.clients["owner"].post(path, content_type="application/json")
        assert response.status_code == 404, path
    with tenant_context(bravo):
        assert Expense.objects.get(pk=theirs.pk).status == "pending"
        assert not ApprovalStep.objects.exists()


def test_Z6_the_record_view_says_whether_you_may_decide(alpha):
    in_south = make_leave(alpha.org, alpha.members["south"])
    yours = alpha.clients["head"].get(f"{API}/leave/{in_south.pk}/").json()
    assert yours["your_decision"]["allowed"] is False
    assert yours["your_decision"]["reason"] == "outside_department"
    assert yours["chain"] == [["manager", "owner"]] and yours["next_step"] == 0
    owner_view = alpha.clients["owner"].get(f"{API}/leave/{in_south.pk}/").json()
    assert owner_view["your_decision"]["allowed"] is True
    # Looking is not deciding: no audit event, no step.
    assert alpha.reasons(in_south) == [] and alpha.steps_of(in_south) == []


def test_Z6_a_denial_without_a_request_is_recorded_in_the_services_transaction(alpha):
    own = make_expense(alpha.org, alpha.members["owner"])
    with tenant_context(alpha.org):
        with pytest.raises(ApprovalDenied) as denied:
            record_approve(record=own, approver=alpha.members["owner"])
        assert denied.value.decision.reason == "self_approval"
    assert alpha.reasons(own) == [("approval.denied", "self_approval")]


def test_Z6_an_api_token_needs_the_approvals_scope(alpha):
    timesheet = make_timesheet(alpha.org, alpha.members["north"])
    owner = alpha.members["owner"].user
    with tenant_context(alpha.org):
        tokens = {
            scopes[0]: api_token_create(
                owner=owner,
                name=scopes[0],
                scopes=scopes,
                expires_at=timezone.now() + timedelta(days=1),
                second_factor_verified=False,
            ).token
            for scopes in (["approvals:read"], ["approvals:write"])
        }
    url = f"{API}/timesheet/{timesheet.pk}/approve/"

    def post(token):
        return Client(HTTP_HOST=settings.PORTAL_HOST).post(
            url, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    assert post(tokens["approvals:read"]).status_code == 403
    assert alpha.status_of(timesheet) == "pending"
    assert post(tokens["approvals:write"]).status_code == 200
    with tenant_context(alpha.org):
        assert Timesheet.objects.get(pk=timesheet.pk).status == "pending"  # step 1 of 2
    assert alpha.steps_of(timesheet) == [(0, alpha.members["owner"].pk)]
