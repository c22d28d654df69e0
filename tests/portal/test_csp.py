"""O10: the Content-Security-Policy (``config.csp``) on every response of every site, and no
template that needs what it refuses: inline script, event-handler attributes, inline
styles."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from config.csp import HEADER, POLICY, ContentSecurityPolicyMiddleware
from tests.portal.conftest import HANDLER, INLINE_SCRIPT, STYLE_ATTRIBUTE, STYLE_ELEMENT

pytestmark = pytest.mark.django_db

EXPECTED = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_O10_the_policy_is_the_documented_one():
    assert POLICY == EXPECTED


def test_O10_api_answers_health_checks_and_static_files_carry_the_policy(world, client):
    api = world.client("staff").get("/api/v1/o/alpha/leave/")
    assert api.status_code == 200 and api.headers[HEADER] == EXPECTED
    refused = world.client("staff").get("/api/v1/o/alpha/audit/events/")
    assert refused.status_code == 403 and refused.headers[HEADER] == EXPECTED
    client.defaults["HTTP_HOST"] = settings.PORTAL_HOST
    assert client.get("/healthz").headers[HEADER] == EXPECTED
    unknown_host = client.get("/", HTTP_HOST="elsewhere.example")
    assert unknown_host.status_code == 400 and unknown_host.headers[HEADER] == EXPECTED


def test_O10_a_view_that_sets_its_own_policy_keeps_it():
    own = "default-src 'none'"

    def view(request):
        response = HttpResponse("x")
        response.headers[HEADER] = own
        return response

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/"))
    assert response.headers[HEADER] == own


@pytest.mark.parametrize(
    "path", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_O10_no_template_needs_inline_script_or_style(path):
    html = path.read_text()
    for pattern in (INLINE_SCRIPT, HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
        found = pattern.search(html)
        assert found is None, found and found.group(0)


def test_O10_the_api_docs_page_needs_no_inline_script_or_style(world):
    response = world.client("staff").get("/api/v1/docs/")
    assert response.status_code == 200
    assert response.headers[HEADER] == EXPECTED
    html = response.content.decode()
    assert "swagger-ui" in html and "/static/css/api-docs.css" in html
    for pattern in (INLINE_SCRIPT, HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
        found = pattern.search(html)
        assert found is None, found and found.group(0)
