"""Leave, timesheet and expense pages (D3, D5): the member's own records with a form to add
one, and, for those whose role approves the subject, the pending records in their scope with
approve and reject buttons.

Rows are rendered from the API's serializers (Z7), so a field the member may not receive is
never handed to a template. Decisions go through ``rbac.approvals`` (Z6); a refusal is shown
with its reason. Every button is a plain form POST that redirects back (works without
JavaScript); with htmx it swaps just the decided row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.http import require_POST
from rest_framework.serializers import Serializer

from config.forms import show_service_errors
from rbac.access import membership_has
from rbac.approvals import (
    APPROVABLE,
    APPROVE,
    CLIENT_SUBJECTS,
    DECISIONS,
    ApprovalConflict,
    ApprovalDenied,
    access_approvable,
    approval_progress,
)
from rbac.fields import is_client_portal
from rbac.models import ApprovalStep
from rbac.permissions import requires
from rbac.registry import ALL
from rbac.scopes import scope_of
from workforce import selectors, services
from workforce.api import ExpenseSerializer, LeaveRequestSerializer, TimesheetSerializer
from workforce.models import Approvable
from workforce.people import leave_balance
from workforce.timekeeping import timesheet_build

PENDING_SHOWN = 100
STATUS_LABELS = dict(Approvable.Status.choices)
OWN_SHOWN = 50


def member_name(membership) -> str:
    """A member as pages name them (also a form's ``label_from_instance``)."""
    return membership.user.get_full_name()


def offer_members(field: forms.ModelChoiceField, membership, module: str) -> None:
    """A form's choice of member: the active members of ``membership``'s scope for
    ``module`` (as the API's input accepts them), by name."""
    field.queryset = (
        selectors.members_in_scope(membership, module)
        .select_related("user")
        .order_by("user__full_name", "user__email", "id")
    )
    field.label_from_instance = member_name


def display(value) -> str:
    """One serialized value as people read it: a referenced row by its name, ISO dates and
    times in words, nothing as a dash."""
    if isinstance(value, dict):
        value = value.get("name")
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        if len(value) == 10 and (day := parse_date(value)) is not None:
            return day.strftime("%-d %b %Y")
        if "T" in value and (moment := parse_datetime(value)) is not None:
            return moment.strftime("%-d %b %Y, %H:%M")
    return str(value)


@dataclass(frozen=True)
class Module:
    subject: str  # the approval subject (rbac.approvals.APPROVABLE)
    title: str
    noun: str
    page: str  # URL name of the list page
    serializer: type[Serializer]
    records: Callable[..., QuerySet]  # selector taking the membership
    columns: tuple[tuple[str, str], ...]  # (serializer field, heading)
    detail: str | None = None  # URL name of a record's page


MODULES: dict[str, Module] = {
    "leave": Module(
        "leave",
        "Leave",
        "leave request",
        "leave",
        LeaveRequestSerializer,
        selectors.leave_requests_for,
        (("starts_on", "From"), ("ends_on", "To"), ("reason", "Reason"), ("status", "Status")),
        detail="leave-detail",
    ),
    "timesheet": Module(
        "timesheet",
        "Timesheets",
        "timesheet",
        "timesheets",
        TimesheetSerializer,
        selectors.timesheets_for,
        (
            ("period_start", "From"),
            ("period_end", "To"),
            ("hours", "Hours"),
            ("amount", "Amount"),
            ("status", "Status"),
        ),
        detail="timesheet-detail",
    ),
    "expense": Module(
        "expense",
        "Expenses",
        "expense",
        "expenses",
        ExpenseSerializer,
        selectors.expenses_for,
        (("amount", "Amount"), ("description", "Description"), ("status", "Status")),
        detail="expense-detail",
    ),
}


def columns_for(request, module: Module) -> tuple[tuple[str, str], ...]:
    """The module's columns this member receives (Z7): a field the serializer withholds on
    every row, like a timesheet's pay on the client portal, has no column at all."""
    received = module.serializer(context={"request": request}).fields
    return tuple((name, heading) for name, heading in module.columns if name in received)


def column_headings(request, module: Module) -> list[str]:
    return [heading for _, heading in columns_for(request, module)]


def record_rows(request, module: Module, records) -> list[dict]:
    """Rows for a template: the id, the member's name and the module's cells, from the
    serializer's output."""
    data = module.serializer(records, many=True, context={"request": request}).data
    columns = columns_for(request, module)
    return [
        {
            "id": row["id"],
            "member": display(row.get("member")),
            "status": row.get("status"),
            "cells": [
                STATUS_LABELS.get(row.get(name), row.get(name))
                if name == "status"
                else display(row.get(name))
                for name, _ in columns
            ],
        }
        for row in data
    ]


def pending_for_approver(request, module: Module) -> QuerySet[Approvable] | None:
    """Pending records in the member's scope that are not their own, or None when their
    role does not approve the subject. Which of them they may actually decide the rules say
    when they try (Z6), with the reason."""
    membership = request.membership
    if not membership_has(membership, f"{module.subject}.approve"):
        return None
    # Records whose earlier step they took wait for someone else now (``already_decided``).
    taken = ApprovalStep.objects.filter(
        entity_type=APPROVABLE[module.subject]._meta.label_lower, approver=membership
    ).values("entity_id")
    return (
        module.records(membership)
        .filter(status=Approvable.Status.PENDING)
        .exclude(member=membership)
        .exclude(pk__in=taken)
        .order_by("created_at", "id")
    )


def decidable_by(request, module: Module) -> QuerySet[Approvable] | None:
    """``pending_for_approver`` narrowed by the department rule (Z6): with a scope narrower
    than ``all``, only records of a department the member heads or one below it (one query
    for the headed departments' paths). The chain's step rules still decide on the click."""
    pending = pending_for_approver(request, module)
    membership = request.membership
    if pending is None or scope_of(membership, module.subject) == ALL:
        return pending
    if membership.client_id is not None:
        # A client's contact decides their client's timesheets, not by department.
        if module.subject not in CLIENT_SUBJECTS:
            return pending.none()
        return pending.filter(client_id=membership.client_id)
    headed = selectors.departments_list().filter(head=membership).values_list("path", flat=True)
    below = Q(pk__in=[])
    for path in headed:
        below |= Q(department__path__startswith=path)
    return pending.filter(below)


# --- forms --------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class LeaveRequestForm(forms.Form):
    starts_on = forms.DateField(label="First day", widget=DateInput)
    ends_on = forms.DateField(label="Last day", widget=DateInput)
    reason = forms.CharField(label="Reason (optional)", max_length=500, required=False)

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", "The last day cannot be before the first day.")
        return data

    def create(self, member):
        return services.leave_request_create(member=member, **self.cleaned_data)


class ExpenseForm(forms.Form):
    amount = forms.DecimalField(label="Amount", min_value=0, max_digits=12, decimal_places=2)
    description = forms.CharField(label="What it was for", max_length=500)

    def create(self, member):
        return services.expense_create(member=member, **self.cleaned_data)


class TimesheetForm(forms.Form):
    """A timesheet is built from the member's completed attendance in the period (hours and
    pay from their clock-ins and clock-outs), not typed in."""

    period_start = forms.DateField(label="Period from", widget=DateInput)
    period_end = forms.DateField(label="Period to", widget=DateInput)

    def create(self, member):
        return timesheet_build(member=member, **self.cleaned_data)


FORMS: dict[str, type[forms.Form]] = {
    "leave": LeaveRequestForm,
    "expense": ExpenseForm,
    "timesheet": TimesheetForm,
}


# --- pages --------------------------------------------------------------------------------


def _module_page(request, subject: str):
    module = MODULES[subject]
    membership = request.membership
    can_create = membership_has(membership, f"{subject}.create")
    form = FORMS[subject](request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            form.create(membership)
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            messages.success(request, f"Your {module.noun} was sent for approval.")
            return redirect(module.page, org_slug=request.organization.slug)
    own = module.records(membership).filter(member=membership)[:OWN_SHOWN]
    # D3: what is left of this year's allowance, next to the form that spends it.
    balance = leave_balance(member=membership) if subject == "leave" and can_create else None
    pending = pending_for_approver(request, module)
    return render(
        request,
        "portal/records.html",
        {
            "organization": request.organization,
            "module": module,
            "headings": column_headings(request, module),
            "own_rows": record_rows(request, module, own),
            "pending_rows": None
            if pending is None
            else record_rows(request, module, pending[:PENDING_SHOWN]),
            "form": form if can_create else None,
            "decide_url_names": decide_url_names(request, subject),
            "balance": balance,
        },
        status=400 if form.errors else 200,
    )


@requires({"GET": "leave.view", "POST": "leave.create"})
@login_required
def leave_page(request, org_slug: str):
    return _module_page(request, "leave")


@requires({"GET": "timesheet.view", "POST": "timesheet.create"})
@login_required
def timesheet_page(request, org_slug: str):
    return _module_page(request, "timesheet")


@requires({"GET": "expense.view", "POST": "expense.create"})
@login_required
def expense_page(request, org_slug: str):
    return _module_page(request, "expense")


def _decide(request, subject: str, record_id: int, verdict: str):
    module = MODULES[subject]
    record = access_approvable(subject, request.membership, record_id)  # 404 outside scope
    decided = False
    try:
        DECISIONS[verdict](record=record, approver=request.membership, request=request)
    except ApprovalDenied as denied:
        # Recorded durably by the service (L1); the member is told why (Z6).
        outcome = f"Not {'approved' if verdict == APPROVE else 'rejected'}: {denied}"
    except ApprovalConflict as conflict:
        outcome = str(conflict)
    else:
        decided = True
        record.refresh_from_db()
        user = record.member.user
        outcome = (
            f"The {module.noun} of {user.get_full_name()} is now "
            f"{record.get_status_display().lower()}."
        )
        if record.status == Approvable.Status.PENDING:
            # A step of several: say it was taken and who is next.
            progress = approval_progress(record)
            outcome = (
                f"Confirmed: step {progress.next_step} of {len(progress.chain)} of the "
                f"{module.noun} of {user.get_full_name()}. It now waits for step "
                f"{progress.next_step + 1} ({', '.join(progress.chain[progress.next_step])})."
            )
    if request.headers.get("HX-Request"):
        # htmx swaps the row: the record as it is now, and the outcome in its place.
        row = record_rows(request, module, [record])[0]
        return render(
            request,
            "portal/decision_row.html",
            {
                "organization": request.organization,
                "module": module,
                "row": row,
                "outcome": outcome,
                "decided": decided,
                "decide_url_names": decide_url_names(request, subject),
            },
        )
    (messages.success if decided else messages.error)(request, outcome)
    page = "client-home" if is_client_portal(request) else module.page
    return redirect(page, org_slug=request.organization.slug)


def decide_url_names(request, subject: str) -> dict[str, str]:
    prefix = "client-" if is_client_portal(request) else ""
    return {"approve": f"{prefix}{subject}-approve", "reject": f"{prefix}{subject}-reject"}


def decision_view(subject: str, verdict: str):
    """The POST that approves or rejects one record of ``subject`` (Z6)."""

    @requires(f"{subject}.approve")
    @require_POST
    @login_required
    def decide(request, org_slug: str, record_id: int):
        return _decide(request, subject, record_id, verdict)

    decide.__name__ = decide.__qualname__ = f"{subject}_{verdict}"
    return decide
