from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.health import liveness
from portal import urls as portal_urls
from rbac.permissions import public
from workforce import urls as workforce_urls

# The client portal: its own host, sign-in and sign-out, and the organisation pages a client
# contact uses (more arrive with the workforce product issue, D6).
urlpatterns = [
    path("healthz", liveness, name="healthz"),
    path("accounts/login/", public(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path("o/<slug:org_slug>/", include(workforce_urls.client_page_patterns)),
    path("o/<slug:org_slug>/", include(portal_urls.client_page_patterns)),
]
