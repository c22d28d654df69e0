"""The audit log over the API: owners and admins read it, others are refused (and the refusal
is itself recorded), other organisations' events and records are 404."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.models import Membership
from tests.factories import make_department, make_membership, make_sites, make_user
from workforce.services import site_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_of_a(org_a):
    user = make_user("olive@alpha.example")
    membership = make_membership(org_a, user)
    with tenant_context(org_a):
        Membership.objects.filter(pk=membership.pk).update(role=Membership.Role.OWNER)
    return user


@pytest.fixture
def api(portal_client, owner_of_a):
    portal_client.force_login(owner_of_a)
    return portal_client


def test_L1_owner_lists_the_log_in_order_with_hmacs(api, org_a):
    make_sites(org_a, 2)
    response = api.get("/api/v1/o/alpha/audit/events/")
    assert response.status_code == 200
    events = response.json()["results"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {"organization.created", "site.created"} <= {e["action"] for e in events}
    assert all(len(e["hmac"]) == 64 for e in events)
    only_sites = api.get("/api/v1/o/alpha/audit/events/", {"action": "site.created"}).json()
    assert [e["action"] for e in only_sites["results"]] == ["site.created", "site.created"]


def test_L1_staff_member_is_refused_and_the_refusal_is_recorded(portal_client, org_a, member_of_a):
    portal_client.force_login(member_of_a)
    response = portal_client.get("/api/v1/o/alpha/audit/events/")
    assert response.status_code == 403
    with tenant_context(org_a):
        [denial] = AuditEvent.objects.filter(action="access.denied")
    assert denial.actor_label == member_of_a.email
    assert denial.actor_role == "staff"
    assert denial.entity_type == "audit_log"
    assert denial.changes["path"] == [None, "/api/v1/o/alpha/audit/events/"]


def test_L1_another_organisations_log_is_404(api, org_b):
    make_sites(org_b, 1)
    assert api.get("/api/v1/o/bravo/audit/events/").status_code == 404


def test_L5_timeline_shows_one_records_events(api, org_a, org_b):
    [site] = make_sites(org_a, 1)
    make_sites(org_a, 1, "Other")
    response = api.get(f"/api/v1/o/alpha/audit/timeline/workforce.site/{site.pk}/")
    assert response.status_code == 200
    [event] = response.json()["results"]
    assert (event["action"], event["entity_id"]) == ("site.created", str(site.pk))
    organization = api.get(f"/api/v1/o/alpha/audit/timeline/tenants.organization/{org_a.pk}/")
    assert [e["action"] for e in organization.json()["results"]] == ["organization.created"]


@pytest.mark.parametrize(
    "path",
    [
        "audit/timeline/workforce.site/{b_site}/",
        "audit/timeline/tenants.organization/{org_b}/",
        "audit/timeline/workforce.nosuchmodel/1/",
        "audit/timeline/auth.permission/1/",
        "audit/timeline/Workforce.Site/1/",
        "audit/timeline/workforce.site/-1/",
        "audit/timeline/workforce.site/99999999999999999999999/",
    ],
)
def test_L5_timeline_of_other_organisations_or_unknown_records_is_404(api, org_b, path):
    [b_site] = make_sites(org_b, 1)
    url = "/api/v1/o/alpha/" + path.format(b_site=b_site.pk, org_b=org_b.pk)
    assert api.get(url).status_code == 404


def test_L4_role_and_guest_trails_are_served(api, org_a):
    roles = api.get("/api/v1/o/alpha/audit/trails/roles/").json()["results"]
    assert {e["action"] for e in roles} == {"membership.created"}
    guests = api.get("/api/v1/o/alpha/audit/trails/guest-access/")
    assert guests.status_code == 200
    assert guests.json()["results"] == []


def test_L1_log_list_costs_constant_queries(api, org_a):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/v1/o/alpha/audit/events/?page_size=500").status_code == 200
        return len(captured)

    make_department(org_a, "Ops")
    small = count()
    make_sites(org_a, 300)
    assert count() == small


@pytest.fixture
def checkpointed(org_a):
    from audit.checkpoints import checkpoint_create

    make_sites(org_a, 4)
    with tenant_context(org_a):
        return checkpoint_create()


def test_L3_verify_endpoint_reports_ok(api, checkpointed):
    body = api.get("/api/v1/o/alpha/audit/verify/").json()
    assert body["ok"] is True
    assert body["checkpoints_verified"] == 1
    assert body["first_bad_seq"] is None


def test_L9_checkpoints_download_with_the_public_key_and_verify(api, checkpointed):
    from audit.signing import verify_checkpoint

    body = api.get("/api/v1/o/alpha/audit/checkpoints/").json()
    [checkpoint] = body["checkpoints"]
    verify_checkpoint(checkpoint, body["signing_public_key"])
    assert checkpoint["tree_size"] == checkpointed.tree_size


def test_L9_inclusion_and_consistency_proofs_verify_against_checkpoints(api, org_a, checkpointed):
    from audit import merkle
    from audit.checkpoints import checkpoint_create

    make_sites(org_a, 3, "Later")
    with tenant_context(org_a):
        later = checkpoint_create()
    old_root = bytes.fromhex(checkpointed.document["root_hash"])
    new_root = bytes.fromhex(later.document["root_hash"])

    inclusion = api.get(
        "/api/v1/o/alpha/audit/proofs/", {"seq": 3, "tree_size": later.tree_size}
    ).json()
    assert merkle.verify_inclusion(
        bytes.fromhex(inclusion["leaf_hash"]),
        2,
        later.tree_size,
        [bytes.fromhex(h) for h in inclusion["proof"]],
        new_root,
    )
    consistency = api.get(
        "/api/v1/o/alpha/audit/proofs/",
        {"old_size": checkpointed.tree_size, "tree_size": later.tree_size},
    ).json()
    assert merkle.verify_consistency(
        checkpointed.tree_size,
        later.tree_size,
        old_root,
        new_root,
        [bytes.fromhex(h) for h in consistency["proof"]],
    )


@pytest.mark.parametrize(
    "query",
    [
        {"seq": 1, "tree_size": 999},
        {"seq": "x", "tree_size": 1},
        {"tree_size": -1},
        {"seq": 100, "tree_size": "{size}"},
        {"tree_size": "{size}"},
    ],
)
def test_L9_bad_proof_requests_are_400(api, checkpointed, query):
    query = {k: str(v).format(size=checkpointed.tree_size) for k, v in query.items()}
    response = api.get("/api/v1/o/alpha/audit/proofs/", query)
    assert response.status_code == 400


def test_L6_export_streams_a_verifiable_log_and_records_who_and_why(api, org_a, checkpointed):
    from audit.verify import verify_export

    response = api.post(
        "/api/v1/o/alpha/audit/exports/",
        {"format": "jsonl", "purpose": "Annual ISO 27001 audit"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    lines = b"".join(response.streaming_content).decode().splitlines()
    header = json.loads(lines[0])
    assert header["purpose"] == "Annual ISO 27001 audit"
    assert header["requested_by"] == "olive@alpha.example"
    last = json.loads(lines[-1])["event"]
    assert last["action"] == "audit.exported"
    assert last["changes"]["purpose"] == [None, "Annual ISO 27001 audit"]
    result = verify_export(lines, public_key_b64=header["signing_public_key"])
    assert result.ok, result.reason
    assert result.checkpoints_verified == 1


def test_L6_csv_export_neutralises_spreadsheet_formulas(api, org_a):
    with tenant_context(org_a):
        site_create(name='=HYPERLINK("http://evil")')
    response = api.post(
        "/api/v1/o/alpha/audit/exports/",
        {"format": "csv", "purpose": "Spreadsheet review"},
        content_type="application/json",
    )
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["organization", "seq", "occurred_at"]
    assert not any(cell.startswith("=") for row in rows for cell in row)


@pytest.mark.parametrize(
    "body",
    [
        {"format": "xml", "purpose": "A long enough purpose"},
        {"format": "jsonl", "purpose": "short"},
        {"format": "jsonl"},
        {},
    ],
)
def test_L6_export_without_a_valid_format_and_purpose_is_400_and_not_recorded(api, org_a, body):
    response = api.post("/api/v1/o/alpha/audit/exports/", body, content_type="application/json")
    assert response.status_code == 400
    with tenant_context(org_a):
        assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_L6_export_is_refused_to_staff(portal_client, member_of_a):
    portal_client.force_login(member_of_a)
    response = portal_client.post(
        "/api/v1/o/alpha/audit/exports/",
        {"format": "jsonl", "purpose": "Curious staff member"},
        content_type="application/json",
    )
    assert response.status_code == 403
