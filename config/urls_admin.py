from django.urls import path

from config.health import liveness

# The super-admin site (Z8) is built in the workforce product issue; this URLconf is loaded
# only by processes started with PALISADE_SERVE_ADMIN_SITE=1.
urlpatterns = [
    path("healthz", liveness, name="healthz"),
]
