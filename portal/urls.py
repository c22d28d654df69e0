"""The web portal's organisation pages (``page_patterns``, under ``/o/<slug>/`` on the portal
host) and the client portal's (``client_page_patterns``, under ``/o/<slug>/`` on the client
host)."""

from django.urls import path

from config import converters  # noqa: F401 - registers <id:>
from portal import (
    attendance,
    client,
    clients,
    deleted,
    documents,
    members,
    record_pages,
    records,
    rota,
    security,
    shifts,
    views,
)
from rbac.approvals import APPROVE, REJECT

# Approve and reject, per approvable subject (Z6): each route declares its own subject's
# permission, and an unknown subject matches nothing.
DECISION_PATHS = {"leave": "leave", "timesheet": "timesheets", "expense": "expenses"}

# The record pages (portal.record_pages.PAGES), under their list's path.
RECORD_PATHS = {
    "shift": "shifts",
    "leave": "leave",
    "expense": "expenses",
    "timesheet": "timesheets",
    "site": "sites",
    "department": "departments",
}


def _decision_patterns(subject: str, prefix: str = "") -> list:
    base = f"{DECISION_PATHS[subject]}/<id:record_id>/"
    return [
        path(
            f"{base}{verdict}/",
            records.decision_view(subject, verdict),
            name=f"{prefix}{subject}-{verdict}",
        )
        for verdict in (APPROVE, REJECT)
    ]


page_patterns: list = [
    path("", views.dashboard, name="dashboard"),
    path("rota/", rota.rota, name="rota"),
    path("my/shifts/", attendance.my_shifts, name="my-shifts"),
    path("my/shifts/<id:shift_id>/clock-in/", attendance.clock_in, name="clock-in"),
    path("my/shifts/<id:shift_id>/clock-out/", attendance.clock_out, name="clock-out"),
    path("leave/", records.leave_page, name="leave"),
    path("timesheets/", records.timesheet_page, name="timesheets"),
    path("expenses/", records.expense_page, name="expenses"),
    path("people/", views.people, name="people"),
    path("departments/", views.departments, name="departments"),
    path("designations/", views.designations, name="designations"),
    # L5: a page per record, each declaring its module's view permission.
    *(
        path(f"{prefix}/<id:record_id>/", record_pages.record_view(name), name=f"{name}-detail")
        for name, prefix in RECORD_PATHS.items()
    ),
    *clients.page_patterns,
    *documents.page_patterns,
    *members.page_patterns,
    *security.page_patterns,
    *shifts.page_patterns,
    *(pattern for subject in DECISION_PATHS for pattern in _decision_patterns(subject)),
    path("deleted/", deleted.deleted_items, name="deleted-items"),
    # G6: a delete and a restore route per module, each declaring its subject's delete
    # permission; the module rides along as a fixed argument, so "record-delete" and
    # "deleted-restore" reverse for every module.
    *(
        path(
            f"{module}/<id:record_id>/delete/",
            deleted.delete_view(module),
            {"module": module},
            name="record-delete",
        )
        for module in deleted.SECTIONS
    ),
    *(
        path(
            f"deleted/{module}/<id:record_id>/restore/",
            deleted.restore_view(module),
            {"module": module},
            name="deleted-restore",
        )
        for module in deleted.SECTIONS
    ),
]
client_page_patterns: list = [
    path("", client.client_home, name="client-home"),
    *documents.client_page_patterns,
    *_decision_patterns("timesheet", prefix="client-"),
]
