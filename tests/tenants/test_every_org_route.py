"""T5, D8: every organisation route of the web portal, the API and the client portal answers
404 to a signed-in owner of another organisation, whatever the method, the id or the record,
exactly as it answers for an organisation that does not exist: no route reaches across, and
none confirms that an organisation exists."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from rbac.permissions import PUBLIC, declaration_of
from tests.factories import make_membership, make_organization, make_user

pytestmark = pytest.mark.django_db

ORG_SLUG = "<slug:org_slug>"
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# A value each converter accepts; the ids belong to nobody in particular, as an attacker's
# guesses would.
SAMPLES = {"id": "1", "int": "1", "slug": "x", "str": "x", "path": "x", "entity": "workforce.shift"}
METHODS = ("get", "post", "patch", "put", "delete")
HOSTS = {"config.urls_portal": settings.PORTAL_HOST, "config.urls_client": settings.CLIENT_HOST}


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            assert isinstance(pattern, URLPattern)
            yield route, pattern


def _org_paths(urlconf: str, slug: str) -> list[str]:
    """Every route of ``urlconf`` under an organisation, but the public forms (D7), which
    are open to anyone by design."""

    def value(match: re.Match) -> str:
        return SAMPLES[match["converter"] or "str"]

    return sorted(
        {
            "/" + PARAMETER.sub(value, route.replace(ORG_SLUG, slug)).lstrip("^").rstrip("$")
            for route, pattern in _routes(get_resolver(urlconf).url_patterns)
            if ORG_SLUG in route and declaration_of(pattern.callback).kind != PUBLIC
        }
    )


@pytest.mark.parametrize("urlconf", sorted(HOSTS))
def test_T5_no_organisation_route_answers_a_member_of_another_organisation(urlconf):
    alpha, bravo = make_organization("Alpha", "alpha"), make_organization("Bravo", "bravo")
    owner = make_user("owner@alpha.example")
    make_membership(alpha, owner, role="owner")
    client = Client(HTTP_HOST=HOSTS[urlconf])
    client.force_login(owner)
    assert bravo.slug != alpha.slug

    paths = _org_paths(urlconf, "bravo")
    assert len(paths) > (30 if urlconf == "config.urls_portal" else 3), paths
    answered = {}
    for path in paths:
        for method in METHODS:
            for slug in ("bravo", "no-such-org"):
                response = getattr(client, method)(path.replace("/bravo/", f"/{slug}/", 1))
                answered[(method.upper(), slug, path)] = response.status_code
    leaks = {request: status for request, status in answered.items() if status != 404}
    assert leaks == {}, leaks
