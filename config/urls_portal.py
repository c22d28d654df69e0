from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as accounts_views
from accounts.password_change import password_change_view
from accounts.second_factors import urls as second_factor_urls
from accounts.sessions import api as session_api
from accounts.sessions import views as session_views
from audit import api as audit_api
from config import converters  # noqa: F401 - registers <id:> and <entity:>
from config.health import liveness
from portal import invitations
from portal import urls as portal_urls
from portal import views as portal_views
from rbac import approval_urls, role_urls
from rbac.permissions import public, signed_in_only
from tenants import api as tenants_api
from tenants.views import invitation_accept_view, ip_allowlist_break_glass_page
from tokens import api as tokens_api
from workforce import api as workforce_api
from workforce import public_urls as workforce_public_urls
from workforce import urls as workforce_urls
from workforce import urls_domain as workforce_domain_urls
from workforce import views as workforce_views

org_api = [
    path("audit/events/", audit_api.AuditEventListAPI.as_view(), name="api-audit-events"),
    path(
        "audit/trails/roles/", audit_api.RoleChangeTrailAPI.as_view(), name="api-audit-role-trail"
    ),
    path(
        "audit/trails/guest-access/",
        audit_api.GuestAccessTrailAPI.as_view(),
        name="api-audit-guest-trail",
    ),
    path("audit/verify/", audit_api.AuditVerifyAPI.as_view(), name="api-audit-verify"),
    path("audit/checkpoints/", audit_api.CheckpointListAPI.as_view(), name="api-audit-checkpoints"),
    path("audit/proofs/", audit_api.AuditProofAPI.as_view(), name="api-audit-proofs"),
    path("audit/exports/", audit_api.AuditExportAPI.as_view(), name="api-audit-export"),
    path(
        "audit/timeline/<entity:entity_type>/<id:entity_id>/",
        audit_api.EntityTimelineAPI.as_view(),
        name="api-audit-timeline",
    ),
    path("audit/sinks/", audit_api.AuditSinkListAPI.as_view(), name="api-audit-sinks"),
    path(
        "audit/sinks/<id:sink_id>/",
        audit_api.AuditSinkDetailAPI.as_view(),
        name="api-audit-sink-detail",
    ),
    path("sites/", workforce_api.SiteListAPI.as_view(), name="api-site-list"),
    path("sites/<id:site_id>/", workforce_api.SiteDetailAPI.as_view(), name="api-site-detail"),
    path("invitations/", tenants_api.InvitationListCreateAPI.as_view(), name="api-invitations"),
    path(
        "invitations/<id:invitation_id>/",
        tenants_api.InvitationRevokeAPI.as_view(),
        name="api-invitation-detail",
    ),
    path("members/", tenants_api.MemberCreateAPI.as_view(), name="api-members"),
    path("api-tokens/", tokens_api.ApiTokenListAPI.as_view(), name="api-tokens"),
    path(
        "api-tokens/<id:token_id>/",
        tokens_api.ApiTokenDetailAPI.as_view(),
        name="api-token-detail",
    ),
    path(
        "sessions/sign-out-everyone/",
        session_api.OrganizationSignOutAPI.as_view(),
        name="api-organization-sign-out-everyone",
    ),
    path("security/ip-allowlist/", tenants_api.IpAllowlistAPI.as_view(), name="api-ip-allowlist"),
    path(
        "security/ip-allowlist/<id:entry_id>/",
        tenants_api.IpAllowlistEntryAPI.as_view(),
        name="api-ip-allowlist-entry",
    ),
    path(
        "security/ip-allowlist/resume/",
        tenants_api.IpAllowlistResumeAPI.as_view(),
        name="api-ip-allowlist-resume",
    ),
    # A12: the one organisation endpoint an owner outside the allowlist can reach.
    path(
        "security/ip-allowlist/break-glass/",
        tenants_api.IpAllowlistBreakGlassAPI.as_view(),
        name="api-ip-allowlist-break-glass",
    ),
]

org_pages = [
    path("sites/", workforce_views.site_list, name="site-list"),
    path("people/invitations/", invitations.invitations, name="invitations"),
    path(
        "people/invitations/<id:invitation_id>/revoke/",
        invitations.invitation_revoke_view,
        name="invitation-revoke",
    ),
    path("settings/sessions/", session_views.organization_sessions, name="organization-sessions"),
    path(
        "settings/ip-allowlist/break-glass/",
        ip_allowlist_break_glass_page,
        name="ip-allowlist-break-glass",
    ),
]

urlpatterns = [
    path("", portal_views.home, name="home"),
    path("healthz", liveness, name="healthz"),
    # A4-A7: email and password, then a second factor (accounts.sign_in).
    path("accounts/login/", accounts_views.sign_in_password, name="login"),
    path(
        "accounts/login/second-factor/",
        accounts_views.sign_in_second_factor,
        name="sign-in-second-factor",
    ),
    path(
        "accounts/login/passkey/options/",
        accounts_views.sign_in_passkey_options,
        name="sign-in-passkey-options",
    ),
    path(
        "accounts/login/passkey/verify/",
        accounts_views.sign_in_passkey_verify,
        name="sign-in-passkey-verify",
    ),
    path("accounts/logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path("orgs/", portal_views.organization_choose, name="organization-choose"),
    path("account/password/", password_change_view, name="password-change"),
    path("account/security/", include(second_factor_urls.pages)),
    path("", include("accounts.sessions.urls")),
    path("invitations/<str:link_token>/", invitation_accept_view, name="invitation-accept"),
    # A8: token mode for SPA and mobile clients.
    path("api/v1/auth/token/", tokens_api.TokenSignInAPI.as_view(), name="api-token-sign-in"),
    path("api/v1/auth/refresh/", tokens_api.TokenRefreshAPI.as_view(), name="api-token-refresh"),
    path("api/v1/auth/sign-out/", tokens_api.TokenSignOutAPI.as_view(), name="api-token-sign-out"),
    # D8: the OpenAPI schema and its docs page, for signed-in users (the schema maps every
    # endpoint; there is no reason to hand that map to anonymous visitors).
    path("api/v1/schema/", signed_in_only(SpectacularAPIView.as_view()), name="api-schema"),
    path(
        "api/v1/docs/",
        signed_in_only(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("o/<slug:org_slug>/", include(org_pages)),
    path("o/<slug:org_slug>/", include(workforce_urls.page_patterns)),
    path("o/<slug:org_slug>/", include(role_urls.page_patterns)),
    path("o/<slug:org_slug>/", include(approval_urls.page_patterns)),
    path("o/<slug:org_slug>/", include(portal_urls.page_patterns)),
    path("api/v1/o/<slug:org_slug>/", include(org_api)),
    path("api/v1/o/<slug:org_slug>/", include(workforce_urls.api_patterns)),
    path("api/v1/o/<slug:org_slug>/", include(role_urls.api_patterns)),
    path("api/v1/o/<slug:org_slug>/", include(approval_urls.api_patterns)),
    path("api/v1/o/<slug:org_slug>/", include(workforce_domain_urls.api_patterns)),
    path("", include(workforce_public_urls.patterns)),
]

# D8: API paths answer errors in the API's format (config.api_errors), pages with pages.
handler404 = "config.api_errors.not_found"
handler500 = "config.api_errors.server_failure"
