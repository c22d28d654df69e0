"""Shared helpers for the session tests: signed-in clients that behave like separate
browsers, and the session-related audit events."""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from accounts.models import UserSession
from accounts.sessions.store import key_digest
from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.factories import TEST_PASSWORD

CHROME_ON_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def browser(user_agent: str = CHROME_ON_MAC, ip: str = "198.51.100.7") -> Client:
    return Client(HTTP_HOST=settings.PORTAL_HOST, HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)


def signed_in_browser(user, **kwargs) -> Client:
    """A browser with a session of its own (Django's login(), so every sign-in hook runs)."""
    client = browser(**kwargs)
    client.force_login(user)
    return client


def sign_in_through_page(client: Client, user) -> None:
    """Signs in through the real sign-in page, as a person would."""
    response = client.post("/accounts/login/", {"username": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def record_of(client: Client) -> UserSession:
    return UserSession.objects.get(session_key_digest=key_digest(session_key(client)))


def events(org, action: str) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))
