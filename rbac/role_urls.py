"""URL patterns included by config.urls_portal (``api_patterns`` under
``/api/v1/o/<slug>/``, ``page_patterns`` under ``/o/<slug>/``).

Member ids use ``int``, not the portal's ``id`` converter: this module is imported before
config.urls_portal registers it. An id beyond bigint matches no row (Django answers an
out-of-range integer lookup with an empty result), so it is a 404 all the same."""

from django.urls import path

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
        "members/<int:membership_id>/",
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
