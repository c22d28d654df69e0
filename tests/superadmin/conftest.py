"""The super-admin site served as it is by a process started with PALISADE_SERVE_ADMIN_SITE=1:
the admin host routed to config.urls_admin, next to the portal and client hosts."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from tests.accounts.mfa_helpers import browser, enrol_totp, next_step_code
from tests.factories import TEST_PASSWORD, make_user

SIGN_IN = "/platform/sign-in/"
SECOND_FACTOR = "/platform/sign-in/second-factor/"
ORGANISATIONS = "/platform/organisations/"


@pytest.fixture(autouse=True)
def admin_site_served(settings):
    settings.SITE_URLCONFS = {
        settings.PORTAL_HOST: "config.urls_portal",
        settings.CLIENT_HOST: "config.urls_client",
        settings.ADMIN_HOST: "config.urls_admin",
    }
    settings.ALLOWED_HOSTS = list(settings.SITE_URLCONFS)


def admin_browser(**kwargs) -> Client:
    return Client(HTTP_HOST=settings.ADMIN_HOST, **kwargs)


def make_superuser(email: str = "root@palisade.example") -> User:
    user = make_user(email)
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
    user.refresh_from_db()
    return user


def enrolled_app(user: User):
    """The person's authenticator app, enrolled through the portal's own pages."""
    client = browser()
    client.force_login(user)
    app, _ = enrol_totp(client)
    return app


def admin_sign_in(user: User, app, client: Client | None = None) -> Client:
    client = client or admin_browser()
    step_1 = client.post(SIGN_IN, {"username": user.email, "password": TEST_PASSWORD})
    assert step_1.status_code == 302 and step_1["Location"] == SECOND_FACTOR, step_1
    step_2 = client.post(SECOND_FACTOR, {"method": "totp", "code": next_step_code(app)})
    assert step_2.status_code == 302 and step_2["Location"] == ORGANISATIONS, step_2
    return client


@pytest.fixture
def root(db):
    return make_superuser()


@pytest.fixture
def root_app(root):
    return enrolled_app(root)


@pytest.fixture
def operator(root, root_app) -> Client:
    """A super-admin signed in on the admin host with password and second factor."""
    return admin_sign_in(root, root_app)
