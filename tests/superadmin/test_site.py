"""Z8: the super-admin site is its own application (URLconf, host, sign-in, session cookie,
mandatory second factor), and no organisation user has a path to it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from rbac.permissions import PLATFORM_SESSION_KEY
from tests.accounts.mfa_helpers import browser, next_step_code, sign_in_password, verify
from tests.factories import TEST_PASSWORD, make_membership, make_user
from tests.superadmin.conftest import (
    ORGANISATIONS,
    SECOND_FACTOR,
    SIGN_IN,
    admin_browser,
    admin_sign_in,
    enrolled_app,
    make_superuser,
)

pytestmark = pytest.mark.django_db

SAMPLE_KWARGS = {"slug": "alpha", "int": "1"}
# Paths every site serves for itself (the liveness probe; the root, which each site answers
# with its own page): on the other hosts they must not reach a super-admin view.
SHARED_PATHS = {"/", "/healthz"}


def _admin_paths(patterns=None, prefix=""):
    patterns = get_resolver("config.urls_admin").url_patterns if patterns is None else patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _admin_paths(pattern.url_patterns, prefix + str(pattern.pattern))
            continue
        assert isinstance(pattern, URLPattern)
        route = prefix + str(pattern.pattern)
        for converter, value in SAMPLE_KWARGS.items():
            for name in ("slug", "user_id"):
                route = route.replace(f"<{converter}:{name}>", value)
        assert "<" not in route, route
        yield "/" + route


def _served_by_superadmin(path: str, urlconf: str) -> bool:
    try:
        return resolve(path, urlconf).func.__module__.startswith("superadmin")
    except Resolver404:
        return False


def test_Z8_every_admin_path_is_404_on_the_portal_and_client_hosts(org_a, member_of_a):
    paths = list(_admin_paths())
    assert "/platform/organisations/alpha/support/" in paths
    superuser = make_superuser()
    for host in (settings.PORTAL_HOST, settings.CLIENT_HOST):
        for who in (None, member_of_a, superuser):
            client = browser()
            client.defaults["HTTP_HOST"] = host
            if who is not None:
                client.force_login(who)
            for path in paths:
                if path in SHARED_PATHS:
                    assert not _served_by_superadmin(path, settings.SITE_URLCONFS[host])
                    continue
                for method in (client.get, client.post):
                    response = method(path)
                    assert response.status_code == 404, (host, path, response.status_code)


def test_Z8_the_admin_host_is_not_served_by_a_process_not_configured_for_it(settings):
    settings.SITE_URLCONFS = {settings.PORTAL_HOST: "config.urls_portal"}
    settings.ALLOWED_HOSTS = [settings.PORTAL_HOST, settings.ADMIN_HOST]
    assert admin_browser().get(SIGN_IN).status_code == 404


def test_Z8_anonymous_visitors_are_sent_to_the_admin_sign_in():
    response = admin_browser().get(ORGANISATIONS)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{SIGN_IN}?next=")


def test_Z8_a_superuser_with_a_second_factor_signs_in_with_the_admin_cookie(root, root_app):
    client = admin_sign_in(root, root_app)
    assert settings.PALISADE_ADMIN_SESSION_COOKIE_NAME in client.cookies
    assert settings.SESSION_COOKIE_NAME not in client.cookies
    page = client.get(ORGANISATIONS)
    assert page.status_code == 200 and b"Organisations" in page.content


def test_Z8_the_password_alone_does_not_sign_a_superuser_in(root, root_app):
    client = admin_browser()
    step_1 = client.post(SIGN_IN, {"username": root.email, "password": TEST_PASSWORD})
    assert step_1.status_code == 302 and step_1["Location"] == SECOND_FACTOR
    assert client.get(ORGANISATIONS).status_code == 302
    wrong = client.post(SECOND_FACTOR, {"method": "totp", "code": "000000"})
    assert wrong.status_code == 400
    assert client.get(ORGANISATIONS).status_code == 302


def test_Z8_a_superuser_without_a_second_factor_cannot_get_in(root):
    client = admin_browser()
    refused = client.post(SIGN_IN, {"username": root.email, "password": TEST_PASSWORD})
    assert refused.status_code == 400 and b"needs a second factor" in refused.content
    assert client.get(SECOND_FACTOR).status_code == 302  # no pending sign-in to continue
    assert client.get(ORGANISATIONS).status_code == 302


def test_Z8_a_session_without_a_verified_second_factor_is_refused(root, root_app):
    """Even a superuser's session is refused unless it verified a second factor: a session
    created any other way (here: directly) reaches nothing."""
    client = admin_browser()
    client.force_login(root)
    session = client.session
    session[PLATFORM_SESSION_KEY] = True
    session.save()
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.cookies[settings.PALISADE_ADMIN_SESSION_COOKIE_NAME] = key
    assert client.get(ORGANISATIONS).status_code == 403


def test_Z8_an_organisation_user_is_refused(org_a, member_of_a):
    app = enrolled_app(member_of_a)
    client = admin_browser()
    refused = client.post(SIGN_IN, {"username": member_of_a.email, "password": TEST_PASSWORD})
    assert refused.status_code == 400
    assert b"Please enter a correct email and password." in refused.content
    assert client.get(SECOND_FACTOR).status_code == 302
    # Signed in and verified on the portal: nothing on the admin host, with that cookie or as
    # a session of the admin site itself.
    portal = browser()
    sign_in_password(portal, member_of_a.email)
    assert verify(portal, "totp", next_step_code(app)).status_code == 302
    stolen = admin_browser()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = portal.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    assert stolen.get(ORGANISATIONS).status_code == 302
    stolen.cookies[settings.PALISADE_ADMIN_SESSION_COOKIE_NAME] = portal.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    assert stolen.get(ORGANISATIONS).status_code == 302  # not signed in on this site


def test_Z8_a_portal_session_of_a_superuser_does_not_open_the_admin_site(root, root_app):
    portal = browser()
    sign_in_password(portal, root.email)
    assert verify(portal, "totp", next_step_code(root_app)).status_code == 302
    key = portal.cookies[settings.SESSION_COOKIE_NAME].value
    for name in (settings.SESSION_COOKIE_NAME, settings.PALISADE_ADMIN_SESSION_COOKIE_NAME):
        client = admin_browser()
        client.cookies[name] = key
        assert client.get(ORGANISATIONS).status_code == 302, name


def test_Z8_organisations_list_shows_member_counts(operator, org_a, org_b, member_of_a):
    make_membership(org_b, make_user("bob@bravo.example"))
    make_membership(org_b, make_user("bea@bravo.example"))
    page = operator.get(ORGANISATIONS)
    rows = {org.slug: members for org, members in page.context["rows"]}
    assert rows == {"alpha": 1, "bravo": 2}


def test_Z8_signing_out_ends_the_admin_session(operator):
    assert operator.post("/platform/sign-out/").status_code == 302
    assert operator.get(ORGANISATIONS).status_code == 302


def test_Z8_the_pending_sign_in_cookie_is_scoped_to_the_admin_sign_in_path(root, root_app):
    step_1 = admin_browser().post(SIGN_IN, {"username": root.email, "password": TEST_PASSWORD})
    assert step_1.cookies["palisade_sign_in"]["path"] == SIGN_IN
    assert step_1.cookies[settings.PALISADE_ADMIN_SESSION_COOKIE_NAME]["httponly"]
    assert settings.SESSION_COOKIE_NAME not in step_1.cookies


def test_Z8_every_page_renders_for_a_super_admin(operator, org_a):
    assert operator.get("/")["Location"] == ORGANISATIONS
    for path in (
        ORGANISATIONS,
        "/platform/organisations/new/",
        "/platform/organisations/alpha/",
        "/platform/organisations/alpha/support/",
        "/platform/users/",
        "/platform/users/?q=nobody",
    ):
        page = operator.get(path)
        assert page.status_code == 200, path
        assert b"<script>" not in page.content and b"style=" not in page.content, path
    assert operator.get("/platform/organisations/nobody/").status_code == 404
