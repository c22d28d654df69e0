"""Z1: a method the view does not implement is a 405 with an ``Allow`` header, for members of
the organisation only; a method it implements stays a 403 for a member whose role lacks the
permission, and for everyone when the declaration leaves the method out (fail closed). Anonymous
callers and other organisations' members learn nothing more than before (401/sign-in, 404)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.views.decorators.http import require_safe
from rest_framework import routers, viewsets
from rest_framework.response import Response

from audit.models import AuditEvent
from portal.views import dashboard
from rbac import role_views
from rbac.permissions import implemented_methods, requires
from tenants.context import tenant_context
from tests.factories import make_membership, make_user

pytestmark = pytest.mark.django_db

ROLES = "/api/v1/o/alpha/roles/"
MEMBER = "/api/v1/o/alpha/members/{}/"
ROLE_DELETE_PAGE = "/o/alpha/settings/roles/staff/delete/"


def signed_in(user) -> Client:
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


def denials(org) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action="access.denied"))


def test_Z1_an_api_method_the_view_lacks_is_405_with_allow_whatever_the_role(people, org_a):
    for role in ("admin", "staff"):
        response = signed_in(people[role]).delete(ROLES)
        assert response.status_code == 405, role
        assert response["Allow"] == "GET, HEAD, OPTIONS, POST"
        assert response.json() == {"detail": 'Method "DELETE" not allowed.'}
    # Not an access refusal: nothing for the audit log.
    assert denials(org_a) == []


def test_Z1_an_api_method_the_view_has_but_the_role_lacks_stays_403_and_audited(people, org_a):
    response = signed_in(people["staff"]).get(ROLES)
    assert response.status_code == 403
    [denial] = denials(org_a)
    assert denial.changes["permission"] == [None, "role.view"]


def test_Z1_a_method_the_view_has_but_its_declaration_forgets_stays_403(people, org_a):
    # MemberDetailAPI declares PATCH only; DRF gives every view OPTIONS.
    owner = signed_in(people["owner"])
    path = MEMBER.format(make_membership(org_a, make_user("ann@alpha.example")).pk)
    assert owner.options(path).status_code == 403
    [denial] = denials(org_a)
    assert denial.changes["method"] == [None, "OPTIONS"]
    assert denial.changes["permission"] == [None, None]
    refused = owner.get(path)
    assert refused.status_code == 405 and refused["Allow"] == "OPTIONS, PATCH"


def test_Z1_a_page_limited_by_require_post_is_405_for_other_methods(people, org_a):
    for role in ("owner", "staff"):
        response = signed_in(people[role]).get(ROLE_DELETE_PAGE)
        assert response.status_code == 405, role
        assert response["Allow"] == "POST"
    # POST is implemented: the role decides.
    assert signed_in(people["staff"]).post(ROLE_DELETE_PAGE).status_code == 403
    assert [denial.changes["permission"] for denial in denials(org_a)] == [[None, "role.delete"]]


def test_Z1_a_plain_function_page_may_answer_any_method_so_its_declaration_decides(people):
    # No method decorator: what the function answers cannot be told from outside.
    assert implemented_methods(role_views.role_create_page) is None
    assert implemented_methods(dashboard) is None
    # PUT is not in its declaration ({"GET": ..., "POST": ...}): refused, even to the owner.
    response = signed_in(people["owner"]).put("/o/alpha/settings/roles/new/")
    assert response.status_code == 403


def test_Z1_405_reveals_nothing_to_anonymous_callers_or_other_organisations(people, org_b):
    anonymous = Client(HTTP_HOST=settings.PORTAL_HOST)
    assert anonymous.delete(ROLES).status_code == 401
    page = anonymous.get(ROLE_DELETE_PAGE)
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    intruder = make_user("intruder@bravo.example")
    make_membership(org_b, intruder, role="owner")
    outsider = signed_in(intruder)
    for response in (outsider.delete(ROLES), outsider.get(ROLE_DELETE_PAGE)):
        assert response.status_code == 404
        assert "Allow" not in response
    # The same answer as for an organisation that does not exist.
    assert outsider.delete(ROLES).content == outsider.delete("/api/v1/o/nowhere/roles/").content


class _Rotas(viewsets.ViewSet):
    def list(self, request):
        return Response([])

    def destroy(self, request, pk=None):
        return Response(status=204)


def test_Z1_implemented_methods_of_viewset_routes_and_method_decorators():
    router = routers.SimpleRouter()
    router.register("rotas", _Rotas, basename="rota")
    listed, detail = (pattern.callback for pattern in router.urls)
    assert implemented_methods(listed) == {"GET", "HEAD"}
    assert implemented_methods(detail) == {"DELETE"}

    @requires("site.view")
    @require_safe
    def safe_page(request):
        return None

    assert implemented_methods(safe_page) == {"GET", "HEAD"}
