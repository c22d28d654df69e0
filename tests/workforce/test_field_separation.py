"""Z7: the response schema per site and role. Staff never receive bill rates or margins;
clients never receive internal notes, pay rates or margins. A withheld field is absent (not
blanked) from every surface: API list and detail, CSV export and HTML page, and its secret
value appears nowhere in the bytes sent."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.factories import make_document
from tests.workforce.conftest import ROLES, SECRETS

pytestmark = pytest.mark.django_db

GUARDED = frozenset(SECRETS)
EVERY = GUARDED
CLIENT_PORTAL_WITHHELD = frozenset({"pay_rate", "margin", "internal_notes"})
# The guarded fields each default role receives on the web portal (rbac.registry).
WEB_PORTAL = {
    "owner": EVERY,
    "manager": EVERY,
    "staff": frozenset(),
    "client": frozenset({"bill_rate"}),
    "auditor": EVERY,
}
CLIENT_PORTAL = {role: fields - CLIENT_PORTAL_WITHHELD for role, fields in WEB_PORTAL.items()}
# The column headings of the HTML pages.
LABELS = {
    "bill_rate": "Bill rate",
    "pay_rate": "Pay rate",
    "margin": "Margin",
    "internal_notes": "Internal notes",
}
EXPORTERS = {"owner", "manager"}  # shift.export

API = "/api/v1/o/alpha"


def _assert_secrets(content: bytes, present: frozenset[str], where: str) -> None:
    for name, secret in SECRETS.items():
        assert (secret.encode() in content) is (name in present), (where, name)


@pytest.mark.parametrize("role", ROLES)
def test_Z7_web_portal_api_list_and_detail_carry_exactly_the_fields_the_role_may_see(world, role):
    expected = WEB_PORTAL[role]
    client = world.client(role)
    listed = client.get(f"{API}/shifts/")
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert rows
    for row in rows:
        assert GUARDED & row.keys() == expected, (role, row)
    _assert_secrets(listed.content, expected, f"list as {role}")
    # Visible to every role: in the manager's subtree, the staff member's, Acme's.
    detail = client.get(f"{API}/shifts/{world.shifts['leeds'].pk}/")
    assert detail.status_code == 200
    assert GUARDED & detail.json().keys() == expected
    _assert_secrets(detail.content, expected, f"detail as {role}")


@pytest.mark.parametrize("role", ROLES)
def test_Z7_web_portal_csv_export_has_only_the_columns_the_role_may_see(world, role):
    response = world.client(role).get(f"{API}/shifts/export.csv")
    if role not in EXPORTERS:
        assert response.status_code == 403
        _assert_secrets(response.content, frozenset(), f"refused export as {role}")
        return
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    content = b"".join(response.streaming_content)
    reader = csv.DictReader(io.StringIO(content.decode()))
    assert GUARDED & set(reader.fieldnames) == WEB_PORTAL[role]
    assert len(list(reader)) >= 2
    _assert_secrets(content, WEB_PORTAL[role], f"export as {role}")
    # L1: every export is recorded, with what it contained.
    with tenant_context(world.org):
        [event] = AuditEvent.objects.filter(action="shift.exported")
    assert event.actor_role == role
    assert event.changes["columns"] == [None, reader.fieldnames]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("host", "schema"),
    [(settings.PORTAL_HOST, WEB_PORTAL), (settings.CLIENT_HOST, CLIENT_PORTAL)],
    ids=["web-portal", "client-portal"],
)
def test_Z7_html_shift_page_has_only_the_columns_the_role_may_see(world, role, host, schema):
    response = world.client(role, host=host).get("/o/alpha/shifts/")
    assert response.status_code == 200
    content = response.content
    assert b"Leeds Depot" in content
    for name, label in LABELS.items():
        heading = f'<th scope="col">{label}</th>'.encode()
        assert (heading in content) is (name in schema[role]), (host, role, name)
    _assert_secrets(content, schema[role], f"page on {host} as {role}")


def test_Z7_the_client_portal_has_no_api_and_no_export(world):
    for path in ("shifts/", f"shifts/{world.shifts['leeds'].pk}/", "shifts/export.csv"):
        with pytest.raises(Resolver404):
            resolve(f"{API}/{path}", urlconf=settings.CLIENT_PORTAL_URLCONF)


def test_Z7_withheld_fields_are_not_even_read_from_the_database(world):
    """Staff: no rate, margin or note column in the SQL; a client contact: the bill rate
    only, and no margin arithmetic."""
    for role, present in (("staff", set()), ("client", {"bill_rate"}), ("owner", GUARDED)):
        with CaptureQueriesContext(connection) as captured:
            assert world.client(role).get(f"{API}/shifts/").status_code == 200
        [listing] = [q["sql"] for q in captured if 'FROM "workforce_shift"' in q["sql"]]
        for column in ("bill_rate", "pay_rate", "internal_notes"):
            assert (f'"workforce_shift"."{column}"' in listing) is (column in present), role
        assert (' AS "margin"' in listing) is ("margin" in present), role


def test_Z7_documents_and_clients_withhold_internal_notes_too(world):
    make_document(
        world.org, world.members["staff"], title="Visa", internal_notes=SECRETS["internal_notes"]
    )
    staff = world.client("staff").get(f"{API}/documents/")
    assert [row["title"] for row in staff.json()["results"]] == ["Visa"]
    assert "internal_notes" not in staff.json()["results"][0]
    _assert_secrets(staff.content, frozenset(), "documents as staff")
    manager = world.client("manager").get(f"{API}/documents/")
    assert manager.json()["results"][0]["internal_notes"] == SECRETS["internal_notes"]
    # Clients (Acme's notes are the secret note) are for roles with client.view.
    assert world.client("staff").get(f"{API}/clients/").status_code == 403
    listed = world.client("manager").get(f"{API}/clients/").json()["results"]
    assert {row["name"]: row["internal_notes"] for row in listed}["Acme"] == SECRETS[
        "internal_notes"
    ]
