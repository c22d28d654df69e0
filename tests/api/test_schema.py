"""The OpenAPI schema (D8): served to signed-in users at /api/v1/schema/, valid OpenAPI, every
API endpoint in it, and a docs page whose assets are all served from here (no CDN)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def _generate() -> tuple[dict, list[str]]:
    GENERATOR_STATS.reset()
    GENERATOR_STATS.silence()
    try:
        schema = SchemaGenerator().get_schema(request=None, public=True)
        problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    finally:
        GENERATOR_STATS.reset()
        GENERATOR_STATS._silent = False
    return schema, problems


def test_D8_the_schema_is_valid_openapi():
    schema, _ = _generate()
    # Raises on any violation of the OpenAPI 3 specification.
    validate(schema)


def test_D8_the_spectacular_command_validates_the_schema(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(out))
    assert out.read_text().startswith("openapi: 3")


def test_D8_every_endpoint_is_described():
    schema, problems = _generate()
    # Generation warns of any view it cannot describe, name clashes and guessed types.
    assert problems == []
    paths = schema["paths"]
    for resource in ("shifts", "leave", "expenses", "timesheets", "documents", "clients", "sites"):
        detail = next(
            p for p in paths if re.fullmatch(rf"/api/v1/o/{{org_slug}}/{resource}/{{\w+}}/", p)
        )
        assert {"get", "patch", "delete"} <= set(paths[detail]), detail
        assert f"/api/v1/o/{{org_slug}}/deleted/{resource}/" in paths
        assert f"/api/v1/o/{{org_slug}}/deleted/{resource}/{{record_id}}/restore/" in paths
    shifts = paths["/api/v1/o/{org_slug}/shifts/"]
    params = {p["name"] for p in shifts["get"]["parameters"]}
    assert {
        "site",
        "client",
        "member",
        "starts_after",
        "starts_before",
        "ordering",
        "cursor",
    } <= params
    assert "requestBody" in shifts["post"] and "201" in shifts["post"]["responses"]
    patch = paths["/api/v1/o/{org_slug}/shifts/{shift_id}/"]["patch"]
    assert {"412", "400"} <= set(patch["responses"])
    assert "If-Match" in {p["name"] for p in patch["parameters"]}
    # Pages are not API endpoints.
    assert all(path.startswith("/api/") for path in paths)


def test_D8_roles_approvals_and_grants_have_request_and_response_bodies():
    schema, _ = _generate()
    paths = schema["paths"]
    org = "/api/v1/o/{org_slug}"

    def body(operation: dict, status: str) -> str:
        return operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]

    def request(operation: dict) -> str:
        return operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]

    roles, role = paths[f"{org}/roles/"], paths[f"{org}/roles/{{role_key}}/"]
    assert request(roles["post"]).endswith("/RoleInput")
    assert body(roles["post"], "201").endswith("/Role")
    # A PATCH body has every field optional.
    assert request(role["patch"]).endswith("/PatchedRoleInput")
    assert {"200", "400", "404"} <= set(role["patch"]["responses"])
    assert "204" in role["delete"]["responses"]
    chain = paths[f"{org}/approval-chains/{{subject}}/"]
    assert request(chain["put"]).endswith("/ApprovalChainInput")
    member = paths[f"{org}/members/{{membership_id}}/"]["patch"]
    assert body(member, "200").endswith("/MemberAssignment")
    for subject in ("leave", "expense", "timesheet"):
        record = paths[f"{org}/approvals/{subject}/{{record_id}}/"]["get"]
        assert body(record, "200").endswith("/ApprovalState")
        decision = paths[f"{org}/approvals/{subject}/{{record_id}}/approve/"]["post"]
        assert "requestBody" not in decision
        assert {"200", "403", "404", "409"} <= set(decision["responses"])
    grants = paths[f"{org}/documents/{{document_id}}/grants/"]["post"]
    assert request(grants).endswith("/GrantInput") and body(grants, "201").endswith("/Grant")
    shared = paths[f"{org}/shared-documents/{{document_id}}/"]["get"]
    assert body(shared, "200").endswith("/SharedDocument")


def test_D8_schema_and_docs_need_a_signed_in_user(world):
    anonymous = Client(HTTP_HOST=settings.PORTAL_HOST)
    for path in ("/api/v1/schema/", "/api/v1/docs/"):
        refused = anonymous.get(path)
        assert refused.status_code in (401, 403), (path, refused.status_code)
    staff = world.client("staff")
    schema = staff.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Palisade API"


def test_D8_the_docs_page_loads_everything_from_this_origin(world):
    staff = world.client("staff")
    page = staff.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(not re.match(r"(?:https?:)?//", src) for src in sources), sources
    assert any("swagger-ui-bundle.js" in src for src in sources)
    # The start-up script is a file of its own (the CSP allows no inline script, O10).
    assert "<script>" not in html
    script = next(src for src in sources if "script" in src and "swagger" not in src)
    init = staff.get(script)
    assert init.status_code == 200 and "/api/v1/schema/" in init.content.decode()
