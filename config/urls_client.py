from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.health import liveness
from rbac.permissions import public
from workforce import urls as workforce_urls

# The client portal's pages arrive with the workforce product issue (D6); for now it has its
# own sign-in and health check on its own host.
urlpatterns = [
    path("healthz", liveness, name="healthz"),
    path("accounts/login/", public(auth_views.LoginView.as_view()), name="login"),
    path("o/<slug:org_slug>/", include(workforce_urls.client_page_patterns)),
]
