"""URL patterns included by config.urls_portal (``api_patterns`` under
``/api/v1/o/<slug>/``, ``page_patterns`` under ``/o/<slug>/``)."""

from django.urls import path

from config import converters  # noqa: F401 - registers <id:>
from rbac import role_api, role_views

api_patterns = [
    path("roles/", role_api.RoleListAPI.as_view(), name="api-roles"),
    path("roles/<slug:role_key>/", role_api.RoleDetailAPI.as_view(), name="api-role-detail"),
    path(
        "approval-chains/<slug:subject>/",
        role_api.ApprovalChainAPI.as_view(),
        name="api-approval-chain",
    ),
    path(
        "members/<id:membership_id>/",
        role_api.MemberDetailAPI.as_view(),
        name="api-member-detail",
    ),
]
page_patterns = [
    path("settings/roles/", role_views.role_list, name="role-list"),
    path("settings/roles/new/", role_views.role_create_page, name="role-create"),
    path("settings/roles/<slug:role_key>/", role_views.role_edit_page, name="role-edit"),
    path(
        "settings/roles/<slug:role_key>/delete/",
        role_views.role_delete_page,
        name="role-delete",
    ),
]
