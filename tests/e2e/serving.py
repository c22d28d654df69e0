"""What the browser tests share: committed data served by a real gunicorn, and the console's
Content-Security-Policy refusals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connections
from playwright.sync_api import Page

from tests.processes import gunicorn


@contextmanager
def served(environment: dict[str, str], host: str | None = None) -> Iterator[str]:
    """Serves the committed data with a gunicorn and yields its base URL under ``host`` (the
    portal's by default): the app routes by Host and Chromium resolves every ``*.localhost``
    name to loopback. Everything the browser needs must be written first: this process's
    database connections are closed, and the ORM is not used again until teardown."""
    for connection in connections.all():
        connection.close()
    with gunicorn(environment) as base_url:
        yield f"http://{host or settings.PORTAL_HOST}:{urlsplit(base_url).port}"


def csp_violations(page: Page) -> list[str]:
    """The page's console reports of Content-Security-Policy refusals, collected from now on."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused
