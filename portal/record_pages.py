"""A record's page (L5): its fields, its decision for approvable records waiting for this
member, its Delete button and its audit timeline, for shifts, leave requests, expenses,
timesheets, sites and departments.

Each module is a ``RecordPage``; ``record_view`` makes its view, declaring the module's view
permission (Z1). The record comes from the module's ``access_*`` selector, so a record of
another organisation or outside the member's scope is a 404 (Z4, T1). Fields come from the
API's serializer and the timeline hides what that serializer withholds (Z7), so a page
shows nothing the API would not send this member.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.shortcuts import render
from django.views.decorators.http import require_safe
from rest_framework.serializers import Serializer

from portal.deleted import delete_action
from portal.records import MODULES, decide_url_names, record_rows
from portal.timeline import record_timeline
from portal.views import record_fields
from rbac.access import membership_has
from rbac.fields import withheld_for_request
from rbac.permissions import requires
from workforce import selectors
from workforce.api import (
    DepartmentSerializer,
    ExpenseSerializer,
    LeaveRequestSerializer,
    ShiftSerializer,
    SiteSerializer,
    TimesheetSerializer,
)
from workforce.models import Approvable, Department, Shift
from workforce.timekeeping import attendance_for


@dataclass(frozen=True)
class RecordPage:
    name: str  # the view's name, and "<name>-detail" its URL's
    permission: str  # declared by the view (Z1)
    serializer: type[Serializer]
    access: Callable[..., Model]  # (request, id) -> the record, or 404 outside org or scope
    title: Callable[[Model], str]
    back: tuple[str, str]  # (URL name, label) of the list the page belongs to
    deleted: str | None = None  # its module in portal.deleted, for the Delete button
    approvable: str | None = None  # its module in portal.records, for the decision
    omitted: tuple[str, ...] = ()  # serializer fields that mean nothing on a page
    template: str = "portal/record_detail.html"
    sections: Callable[..., dict] | None = None  # (request, record) -> more of the page


def _decide_row(request, page: RecordPage, record) -> dict | None:
    """The record as a decision row, when it waits and this member approves its subject and
    is not its member (Z6: which step they may take the rules say on the click)."""
    if page.approvable is None:
        return None
    module = MODULES[page.approvable]
    if (
        record.status != Approvable.Status.PENDING
        or record.member_id == request.membership.pk
        or not membership_has(request.membership, f"{module.subject}.approve")
    ):
        return None
    return record_rows(request, module, [record])[0]


def _shift_sections(request, shift: Shift) -> dict:
    """D2: a Change link for members who may update shifts (``portal.shifts``), and who
    clocked in to the shift, for members who see attendance (in their scope), with a link to
    correct each row for those who may, except their own (Z6)."""
    membership = request.membership
    sections = {"editable": membership_has(membership, "shift.update"), "attendance": None}
    if membership_has(membership, "attendance.view"):
        may_correct = membership_has(membership, "attendance.update")
        sections["attendance"] = [
            {"row": row, "correctable": may_correct and row.member_id != membership.pk}
            for row in attendance_for(membership).filter(shift=shift)
        ]
    return sections


def _department_title(department: Department) -> str:
    """The department with the ones above it ("Ops / North"), from its materialised path."""
    ids = [int(part) for part in department.path.strip("/").split("/") if part]
    names = dict(selectors.departments_list().filter(pk__in=ids).values_list("pk", "name"))
    return " / ".join(names.get(pk, department.name) for pk in ids) or department.name


PAGES: dict[str, RecordPage] = {
    page.name: page
    for page in (
        RecordPage(
            "shift",
            "shift.view",
            ShiftSerializer,
            lambda request, pk: selectors.access_shift(
                request.membership, withheld_for_request(request), pk
            ),
            lambda shift: f"Shift at {shift.site_name}",
            ("rota", "Rota"),
            deleted="shifts",
            template="portal/shift_detail.html",
            sections=_shift_sections,
        ),
        RecordPage(
            "leave",
            "leave.view",
            LeaveRequestSerializer,
            lambda request, pk: selectors.access_leave_request(request.membership, pk),
            lambda leave: "Leave request",
            ("leave", "Leave"),
            deleted="leave",
            approvable="leave",
        ),
        RecordPage(
            "expense",
            "expense.view",
            ExpenseSerializer,
            lambda request, pk: selectors.access_expense(request.membership, pk),
            lambda expense: "Expense",
            ("expenses", "Expenses"),
            deleted="expenses",
            approvable="expense",
        ),
        RecordPage(
            "timesheet",
            "timesheet.view",
            TimesheetSerializer,
            lambda request, pk: selectors.access_timesheet(request.membership, pk),
            lambda timesheet: "Timesheet",
            ("timesheets", "Timesheets"),
            deleted="timesheets",
            approvable="timesheet",
        ),
        # Sites and departments are not scoped (Z4): who may open them is site.view's and
        # department.view's decision, the organisation RLS's.
        RecordPage(
            "site",
            "site.view",
            SiteSerializer,
            lambda request, pk: selectors.access_site(pk),
            lambda site: site.name,
            ("site-list", "Sites"),
            deleted="sites",
        ),
        RecordPage(
            "department",
            "department.view",
            DepartmentSerializer,
            lambda request, pk: selectors.access_department(pk),
            _department_title,
            ("departments", "Departments"),
            # The tree's own ids and path: the title names the departments above.
            omitted=("parent", "path"),
        ),
    )
}


def _render(request, page: RecordPage, record):
    serializer = page.serializer(record, context={"request": request})
    timeline, truncated = record_timeline(request, record, serializer)
    decide_row = _decide_row(request, page, record)
    return render(
        request,
        page.template,
        {
            "organization": request.organization,
            "title": page.title(record),
            "back": page.back,
            "fields": record_fields(serializer, omitted=page.omitted),
            "module": MODULES[page.approvable] if decide_row else None,
            "decide_row": decide_row,
            "decide_url_names": decide_url_names(request, page.approvable) if decide_row else None,
            "record_id": record.pk,
            "delete": delete_action(request, page.deleted, record) if page.deleted else None,
            "timeline": timeline,
            "timeline_truncated": truncated,
            **(page.sections(request, record) if page.sections else {}),
        },
    )


def record_view(name: str):
    """The GET of one record's page of the module ``name`` (``PAGES``)."""
    page = PAGES[name]

    @requires(page.permission)
    @require_safe
    @login_required
    def detail(request, org_slug: str, record_id: int):
        return _render(request, page, page.access(request, record_id))

    detail.__name__ = detail.__qualname__ = f"{name}_detail"
    return detail
