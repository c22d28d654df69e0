"""Approval rules (Z6): the attribute rules evaluated on top of roles every time someone
approves or rejects a leave request, an expense or a timesheet.

In order, a member may decide a record only if
1. their role holds ``<subject>.approve`` (the view checks it too; services are also called
   from elsewhere);
2. it is not their own submission (``self_approval``);
3. with a scope narrower than ``all`` for the module, the record's department lies in the
   subtree of a department they head (``outside_department``): seeing a record through the
   department scope is not enough to approve it. A client's contact (a membership with
   ``client`` set) heads no department: for them the record must be a timesheet of their own
   client instead (``outside_client``; a timesheet of no client, or of another, is not
   theirs, nor is any other subject);
4. its amount is within their role's limit for the subject, if the role has one
   (``above_threshold``);
5. their role may decide the next step of the subject's approval chain (``not_this_step``),
   and they decided no earlier step of the same record (``already_decided``).

Each approved step is an append-only ``ApprovalStep``; the record is approved when the last
step is, rejected at the first allowed rejection. Every decision, allowed or denied, is an
``approval.allowed`` / ``approval.denied`` audit event naming its reason (L1).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

from audit.services import audit_event_record, audit_event_record_durably, entity_type_of
from rbac.access import membership_has
from rbac.models import ApprovalChain, ApprovalStep
from rbac.registry import ALL
from rbac.scopes import scope_of, visible
from tenants.models import Membership
from workforce.models import Approvable, Department, Expense, LeaveRequest, Timesheet
from workforce.services import approvable_status_set, audited_amounts

# The approvable subjects (rbac.registry.DEFAULT_APPROVAL_CHAINS) and their records.
APPROVABLE: dict[str, type[Approvable]] = {
    "leave": LeaveRequest,
    "expense": Expense,
    "timesheet": Timesheet,
}
SUBJECT_OF: dict[type[Model], str] = {model: subject for subject, model in APPROVABLE.items()}

APPROVE, REJECT = "approve", "reject"

ALLOWED = "allowed"
NO_PERMISSION = "no_permission"
SELF_APPROVAL = "self_approval"
OUTSIDE_DEPARTMENT = "outside_department"
OUTSIDE_CLIENT = "outside_client"
# The subjects a client's contact may decide: they confirm the hours worked for them.
CLIENT_SUBJECTS = frozenset({"timesheet"})
ABOVE_THRESHOLD = "above_threshold"
NOT_THIS_STEP = "not_this_step"
ALREADY_DECIDED = "already_decided"
NOT_PENDING = "not_pending"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # machine-readable: ALLOWED or one of the refusal reasons above
    message: str  # for people
    step: int  # the chain step (0-based) the decision is about
    steps: int  # how many steps the chain has


class ApprovalDenied(Exception):
    """The rules refuse this member this decision (HTTP 403)."""

    def __init__(self, decision: Decision):
        super().__init__(decision.message)
        self.decision = decision


class ApprovalConflict(Exception):
    """The record is no longer pending (HTTP 409)."""

    reason = NOT_PENDING


@dataclass(frozen=True)
class Progress:
    """Where a record stands in its chain: the steps and who decided the ones taken."""

    chain: list[list[str]]
    taken: list[ApprovalStep]

    @property
    def next_step(self) -> int:
        return len(self.taken)


def approval_progress(record: Approvable) -> Progress:
    """The subject's chain and the steps taken so far, with their approvers (two queries)."""
    chain = ApprovalChain.objects.get(subject=SUBJECT_OF[type(record)]).steps
    taken = ApprovalStep.objects.filter(
        entity_type=entity_type_of(record), entity_id=record.pk
    ).select_related("approver__user")
    return Progress(chain=chain, taken=list(taken.order_by("step")))


def approvable_records(subject: str, membership: Membership) -> QuerySet[Approvable]:
    """The live records of ``subject`` the member sees (Z4): anything else, deleted or of
    another organisation included, is a 404 rather than a refusal that confirms it exists."""
    records = APPROVABLE[subject].objects.select_related("member", "department")
    return visible(records, subject, membership)


def access_approvable(subject: str, membership: Membership, record_id: int) -> Approvable:
    return get_object_or_404(approvable_records(subject, membership), pk=record_id)


def _heads_department_of(approver: Membership, record: Approvable) -> bool:
    """Whether the approver heads the record's department or one above it. The materialised
    path lists exactly those departments (``/3/17/42/``), so this is one indexed lookup."""
    if record.department_id is None:
        return False
    ancestors = [int(part) for part in record.department.path.strip("/").split("/")]
    return Department.objects.filter(pk__in=ancestors, head_id=approver.pk).exists()


def approval_decide(
    *, record: Approvable, approver: Membership, progress: Progress | None = None
) -> Decision:
    """Evaluates the rules for ``approver`` deciding the next step of ``record``; changes
    nothing. ``progress`` saves its two queries when the caller has it already."""
    subject = SUBJECT_OF[type(record)]
    progress = progress or approval_progress(record)
    steps = len(progress.chain)
    step = progress.next_step

    def denied(reason: str, message: str) -> Decision:
        return Decision(False, reason, message, step, steps)

    role = approver.role_definition
    if not membership_has(approver, f"{subject}.approve"):
        return denied(NO_PERMISSION, f"Your role does not approve {subject} records.")
    if record.member.user_id == approver.user_id:
        return denied(SELF_APPROVAL, "Nobody approves or rejects their own submission.")
    if approver.client_id is not None:
        if (
            subject not in CLIENT_SUBJECTS
            or getattr(record, "client_id", None) != approver.client_id
        ):
            return denied(
                OUTSIDE_CLIENT, "You can only decide timesheets of work done for your client."
            )
    elif scope_of(approver, subject) != ALL and not _heads_department_of(approver, record):
        return denied(
            OUTSIDE_DEPARTMENT,
            "You can only decide records of a department you head or one below it.",
        )
    limit = role.approval_limits.get(subject)
    amount = getattr(record, "amount", None)
    if limit is not None and amount is not None and amount > Decimal(limit):
        if approver.client_id is not None:
            # Z7: a timesheet's amount is pay, which the message must not tell a client.
            return denied(
                ABOVE_THRESHOLD, f"This is above your role's approval limit for {subject} records."
            )
        return denied(
            ABOVE_THRESHOLD,
            f"{amount} is above your role's approval limit of {limit} for {subject} records.",
        )
    # A chain shortened after earlier steps were taken: its last step's roles finish it.
    allowed_roles = progress.chain[min(step, steps - 1)]
    if approver.role not in allowed_roles:
        return denied(
            NOT_THIS_STEP,
            f"Step {step + 1} of {steps} is decided by: {', '.join(allowed_roles)}.",
        )
    if any(taken.approver_id == approver.pk for taken in progress.taken):
        return denied(
            ALREADY_DECIDED, "You decided an earlier step of this record; someone else decides."
        )
    return Decision(True, ALLOWED, f"Step {step + 1} of {steps} may be decided.", step, steps)


def _event(verdict: str, record: Approvable, decision: Decision, status: list) -> dict:
    return {
        "action": "approval.allowed" if decision.allowed else "approval.denied",
        "entity": record,
        "changes": {
            "decision": [None, verdict],
            "reason": [None, decision.reason],
            "subject": [None, SUBJECT_OF[type(record)]],
            "step": [None, decision.step],
            # L1: what was decided on (an expense's amount; a timesheet's hours and pay).
            **{name: [None, value] for name, value in audited_amounts(record).items()},
            "status": status,
        },
    }


@transaction.atomic
def _record_decide(*, record: Approvable, approver: Membership, verdict: str, request) -> Decision:
    subject = SUBJECT_OF[type(record)]
    # Decisions on one record are serialised: two approvers cannot both take the same step.
    # Re-read within the approver's scope: deleted or hidden since it was read is a 404.
    record = get_object_or_404(
        approvable_records(subject, approver).select_for_update(of=("self",)), pk=record.pk
    )
    if record.status != Approvable.Status.PENDING:
        raise ApprovalConflict(f"This {subject} record is already {record.status}.")
    decision = approval_decide(record=record, approver=approver)
    if not decision.allowed:
        event = _event(verdict, record, decision, [record.status, record.status])
        if request is not None:
            # The request answers 403 and its transaction rolls back; this survives it.
            audit_event_record_durably(request, **event)
        else:
            # No request to outlive: this transaction commits, and the refusal is raised
            # after it (record_approve, record_reject).
            audit_event_record(**event)
        return decision
    before = record.status
    if verdict == APPROVE:
        ApprovalStep.objects.create(
            entity_type=entity_type_of(record),
            entity_id=record.pk,
            step=decision.step,
            approver=approver,
        )
        if decision.step + 1 >= decision.steps:
            record.status = Approvable.Status.APPROVED
    else:
        record.status = Approvable.Status.REJECTED
    if record.status != before:
        approvable_status_set(record=record, status=record.status)
    audit_event_record(**_event(verdict, record, decision, [before, record.status]))
    return decision


def _decided(verdict: str, record: Approvable, approver: Membership, request) -> Decision:
    decision = _record_decide(record=record, approver=approver, verdict=verdict, request=request)
    if not decision.allowed:
        raise ApprovalDenied(decision)
    return decision


def record_approve(*, record: Approvable, approver: Membership, request=None) -> Decision:
    """Takes the next step of ``record``'s chain for ``approver``, approving the record at
    the last one. Raises ``ApprovalDenied`` (recorded durably when ``request`` is given),
    ``ApprovalConflict`` when the record is not pending, ``Http404`` when it is gone or out
    of the approver's scope."""
    return _decided(APPROVE, record, approver, request)


def record_reject(*, record: Approvable, approver: Membership, request=None) -> Decision:
    """Rejects ``record``: whoever may decide its next step may reject it instead."""
    return _decided(REJECT, record, approver, request)


DECISIONS = {APPROVE: record_approve, REJECT: record_reject}
