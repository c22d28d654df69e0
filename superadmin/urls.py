"""The super-admin site's pages (Z8). Everything lives under ``/platform/``, a prefix no other
site routes, so none of these paths means anything on the portal or client hosts."""

from django.contrib.auth import views as auth_views
from django.urls import path

from rbac.permissions import public
from superadmin import views

urlpatterns = [
    path("", views.home, name="superadmin-home"),
    # The sign-in pages carry the portal's URL names, so the sign-in rate-limit policy
    # (ratelimits.policies) and LOGIN_URL apply here as they do there.
    path("platform/sign-in/", views.admin_sign_in, name="login"),
    path(
        "platform/sign-in/second-factor/",
        views.admin_sign_in_second_factor,
        name="sign-in-second-factor",
    ),
    path(
        "platform/sign-out/",
        public(auth_views.LogoutView.as_view(next_page="login")),
        name="logout",
    ),
    path("platform/organisations/", views.organization_list, name="superadmin-organizations"),
    path(
        "platform/organisations/new/",
        views.organization_create,
        name="superadmin-organization-create",
    ),
    path(
        "platform/organisations/<slug:slug>/",
        views.organization_detail,
        name="superadmin-organization",
    ),
    path(
        "platform/organisations/<slug:slug>/suspend/",
        views.organization_suspend,
        name="superadmin-organization-suspend",
    ),
    path(
        "platform/organisations/<slug:slug>/reactivate/",
        views.organization_reactivate,
        name="superadmin-organization-reactivate",
    ),
    path(
        "platform/organisations/<slug:slug>/offboard/",
        views.organization_offboard,
        name="superadmin-organization-offboard",
    ),
    path(
        "platform/organisations/<slug:slug>/support/",
        views.support_access,
        name="superadmin-support-access",
    ),
    path("platform/users/", views.user_list, name="superadmin-users"),
    path(
        "platform/users/<int:user_id>/deactivate/",
        views.user_deactivate,
        name="superadmin-user-deactivate",
    ),
]
