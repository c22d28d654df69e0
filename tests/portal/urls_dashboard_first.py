"""The portal's URLconf with the portal pages' dashboard at ``/o/<slug>/`` (see the
``dashboard_routed`` fixture)."""

from django.urls import include, path

from config import urls_portal
from portal import urls as portal_urls

urlpatterns = [
    path("o/<slug:org_slug>/", include(portal_urls.page_patterns)),
    *urls_portal.urlpatterns,
]
