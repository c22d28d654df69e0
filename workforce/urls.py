"""URL patterns included by config.urls_portal (``api_patterns`` under
``/api/v1/o/<slug>/``, ``page_patterns`` under ``/o/<slug>/``) and config.urls_client
(``client_page_patterns`` under ``/o/<slug>/`` on the client host)."""

from django.urls import path

from config import converters  # noqa: F401 - registers <id:>
from workforce import api, views

api_patterns: list = [
    path("shifts/", api.ShiftListCreateAPI.as_view(), name="api-shift-list"),
    path("shifts/export.csv", api.ShiftExportAPI.as_view(), name="api-shift-export"),
    path("shifts/<id:shift_id>/", api.ShiftDetailAPI.as_view(), name="api-shift-detail"),
    path("leave/", api.LeaveRequestListCreateAPI.as_view(), name="api-leave-list"),
    path("leave/<id:leave_id>/", api.LeaveRequestDetailAPI.as_view(), name="api-leave-detail"),
    path("expenses/", api.ExpenseListCreateAPI.as_view(), name="api-expense-list"),
    path(
        "expenses/<id:expense_id>/",
        api.ExpenseDetailAPI.as_view(),
        name="api-expense-detail",
    ),
    path("timesheets/", api.TimesheetListCreateAPI.as_view(), name="api-timesheet-list"),
    path(
        "timesheets/<id:timesheet_id>/",
        api.TimesheetDetailAPI.as_view(),
        name="api-timesheet-detail",
    ),
    path("documents/", api.DocumentListCreateAPI.as_view(), name="api-document-list"),
    path(
        "documents/<id:document_id>/",
        api.DocumentDetailAPI.as_view(),
        name="api-document-detail",
    ),
    path("clients/", api.ClientListCreateAPI.as_view(), name="api-client-list"),
    path("clients/<id:client_id>/", api.ClientDetailAPI.as_view(), name="api-client-detail"),
    path("departments/", api.DepartmentListCreateAPI.as_view(), name="api-department-list"),
    path(
        "departments/<id:department_id>/",
        api.DepartmentDetailAPI.as_view(),
        name="api-department-detail",
    ),
]
# G6: soft-deleted rows of each module, listed and restored by members holding
# ``<subject>.delete``.
for _module in api.DELETED_MODULES:
    _listing, _restore = api.deleted_views(_module)
    api_patterns += [
        path(f"deleted/{_module}/", _listing, name=f"api-deleted-{_module}"),
        path(
            f"deleted/{_module}/<id:record_id>/restore/",
            _restore,
            name=f"api-restore-{_module}",
        ),
    ]
page_patterns: list = [
    path("shifts/", views.shift_list, name="shift-list"),
]
# The client portal's organisation pages (config.urls_client, under ``/o/<slug>/``).
client_page_patterns: list = [
    path("shifts/", views.client_shift_list, name="client-shift-list"),
]
