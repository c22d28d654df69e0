from django.urls import include, path

from config.health import liveness

# The super-admin site (Z8); this URLconf is loaded only by processes started with
# PALISADE_SERVE_ADMIN_SITE=1. Included by dotted path, not imported: config may not import
# the cross-tenant path, even through the super-admin views (T3, import-linter contract).
urlpatterns = [
    path("healthz", liveness, name="healthz"),
    path("", include("superadmin.urls")),
]
