"""Every page a demo member can reach renders (D1-D8, O2): after ``seed_demo``, each role
signs in on its site, opens every link of its navigation (200 each) and then every link those
pages show inside the organisation (records, filters, weeks, forms): none answers a 5xx.
Realistic data reaches template paths the hand-made fixtures do not."""

from __future__ import annotations

import io
import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from workforce.management.commands.seed_demo import Command as SeedDemo

pytestmark = pytest.mark.django_db

SLUG = "acme-security"
ROLES = ("owner", "admin", "manager", "staff", "client", "auditor", "board_guest")
# Enough to reach every kind of page (lists, records, weeks, filters) without walking a
# month of shifts one by one.
PAGES_PER_ROLE = 80
HREF = re.compile(r'href="([^"#]+)"')
NAV = re.compile(r'<nav class="orgnav".*?</nav>', re.DOTALL)
# Roles whose pages link to record pages (admins run people, roles and settings; the client
# portal has no record pages; the board guest opens the report shared with them).
ROLES_WITH_RECORDS = ("owner", "manager", "staff", "auditor", "board_guest")
RECORD_PAGE = re.compile(r"/\d+/$")


def _signed_in(role: str) -> Client:
    host = settings.CLIENT_HOST if role == "client" else settings.PORTAL_HOST
    client = Client(HTTP_HOST=host)
    client.force_login(User.objects.get(email=SeedDemo._email(role, SLUG)))
    return client


def _links(html: str, page: str) -> list[str]:
    """The links of ``page`` (relative ones resolved) that stay inside the organisation."""
    inside = f"/o/{SLUG}/"
    paths = (urlsplit(urljoin(page, unescape(href))) for href in HREF.findall(html))
    return [
        f"{url.path}?{url.query}" if url.query else url.path
        for url in paths
        if not url.netloc and url.path.startswith(inside)
    ]


def _walk(role: str) -> None:
    """Signs ``role`` in, opens its navigation (200 each) and the pages they link to."""
    client = _signed_in(role)
    home = client.get(f"/o/{SLUG}/", follow=True)
    assert home.status_code == 200, (role, home.status_code)
    navigation = NAV.search(home.content.decode())
    assert navigation, f"{role}: the organisation navigation is missing"
    menu = _links(navigation.group(0), home.request["PATH_INFO"])
    assert menu, f"{role} has no pages"
    for path in menu:
        page = client.get(path)
        assert page.status_code == 200, (role, path, page.status_code)

    seen, queue = set(menu), list(menu)
    while queue and len(seen) < PAGES_PER_ROLE:
        path = queue.pop(0)
        page = client.get(path)
        assert page.status_code < 500, (role, path, page.status_code)
        if page.status_code != 200 or "text/html" not in page.get("Content-Type", ""):
            continue
        for found in _links(page.content.decode(), path):
            if found not in seen:
                seen.add(found)
                queue.append(found)
    if role in ROLES_WITH_RECORDS:
        assert any(RECORD_PAGE.search(path) for path in seen), f"{role} reached no record"


def test_D8_every_page_a_demo_member_reaches_renders():
    # One demo for every role: building it is most of this test's time.
    call_command("seed_demo", stdout=io.StringIO())
    for role in ROLES:
        _walk(role)
