"""URL patterns of the product's time, people and document features; ``api_patterns`` is
included by config.urls_portal under ``/api/v1/o/<slug>/``."""

from django.urls import path

from config import converters  # noqa: F401 - registers <id:>
from workforce import api_domain as api

api_patterns: list = [
    path("shifts/<id:shift_id>/clock-in/", api.ClockInAPI.as_view(), name="api-shift-clock-in"),
    path("shifts/<id:shift_id>/clock-out/", api.ClockOutAPI.as_view(), name="api-shift-clock-out"),
    path("attendance/", api.AttendanceListAPI.as_view(), name="api-attendance-list"),
    path(
        "attendance/<id:attendance_id>/",
        api.AttendanceDetailAPI.as_view(),
        name="api-attendance-detail",
    ),
    path("leave/balance/", api.LeaveBalanceAPI.as_view(), name="api-leave-balance"),
    path("timesheets/build/", api.TimesheetBuildAPI.as_view(), name="api-timesheet-build"),
    path(
        "issued-documents/",
        api.IssuedDocumentListCreateAPI.as_view(),
        name="api-issued-document-list",
    ),
    path(
        "issued-documents/<id:document_id>/",
        api.IssuedDocumentDetailAPI.as_view(),
        name="api-issued-document-detail",
    ),
    path("designations/", api.DesignationListCreateAPI.as_view(), name="api-designation-list"),
    path(
        "staff/<id:membership_id>/profile/",
        api.StaffProfileAPI.as_view(),
        name="api-staff-profile",
    ),
]
