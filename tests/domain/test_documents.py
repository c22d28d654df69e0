"""D4: issued documents (contracts, letters) issued by managers and owners to members in
their scope, read by the member; text kept verbatim in the API and escaped when rendered;
expiry reminders emailed once per document to the member and their department head."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.template import Context, Template
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.domain.conftest import get, post, signed_in
from tests.factories import (
    make_document,
    make_issued_document,
    make_membership,
    make_organization,
    make_user,
)
from workforce.models import Document, IssuedDocument
from workforce.services import department_set_head
from workforce.tasks import send_document_expiry_reminders

pytestmark = pytest.mark.django_db
SCRIPT = '<script>alert("x")</script><b>bold</b> & "quotes"'


def _issued(world) -> int:
    with tenant_context(world.org):
        return IssuedDocument.objects.count()


def _issue(client, member_id, **fields):
    body = {"member": member_id, "kind": "contract", "title": "Contract", "body": "Terms."}
    return post(client, "issued-documents/", {**body, **fields})


def test_D4_a_manager_issues_a_document_to_a_member_in_scope_who_reads_it(world):
    staff_id = world.members["staff"].pk
    created = _issue(signed_in(world, "manager"), staff_id, title=SCRIPT, body=SCRIPT)
    assert created.status_code == 201, created.content
    body = created.json()
    # Plain text in the API: stored and returned verbatim, as a JSON string.
    assert body["title"] == SCRIPT and body["body"] == SCRIPT
    assert body["member"]["id"] == staff_id and body["kind"] == "contract"
    staff = signed_in(world, "staff")
    assert [d["id"] for d in get(staff, "issued-documents/").json()["results"]] == [body["id"]]
    assert get(staff, f"issued-documents/{body['id']}/").json() == body
    with tenant_context(world.org):
        event = AuditEvent.objects.get(action="issueddocument.created")
        assert "body" not in event.changes and event.changes["kind"] == [None, "contract"]


def test_D4_issued_text_is_escaped_when_rendered(world):
    document = make_issued_document(world.org, world.members["staff"], title=SCRIPT, body=SCRIPT)
    rendered = Template("<h1>{{ d.title }}</h1><pre>{{ d.body }}</pre>").render(
        Context({"d": document})
    )
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered


def test_D4_who_may_issue_and_read(world):
    staff_id, south_id = world.members["staff"].pk, world.members["south_staff"].pk
    assert _issue(signed_in(world, "staff"), staff_id).status_code == 403
    out_of_scope = _issue(signed_in(world, "manager"), south_id)
    assert out_of_scope.status_code == 400 and "member" in out_of_scope.json()
    assert _issue(signed_in(world, "owner"), south_id).status_code == 201
    assert _issued(world) == 1
    with tenant_context(world.org):
        south_doc = IssuedDocument.objects.get()
    assert get(signed_in(world, "staff"), f"issued-documents/{south_doc.pk}/").status_code == 404
    assert get(signed_in(world, "manager"), f"issued-documents/{south_doc.pk}/").status_code == 404
    assert get(signed_in(world, "staff"), "issued-documents/").json()["results"] == []
    assert get(signed_in(world, "client"), "issued-documents/").status_code == 403


def test_D4_bad_input_is_refused_per_field_and_nothing_saved(world):
    manager, staff_id = signed_in(world, "manager"), world.members["staff"].pk
    cases = {
        "title": {"title": "t" * 201},
        "body": {"body": "b" * 20001},
        "kind": {"kind": "payslip"},
        "member": {"member": -1},
    }
    for field, change in cases.items():
        response = _issue(manager, staff_id, **change)
        assert response.status_code == 400, field
        assert field in response.json(), (field, response.json())
    assert _issue(manager, staff_id, title="").status_code == 400
    assert _issued(world) == 0


def test_D4_another_organisations_issued_document_is_404(world):
    bravo = make_organization("Bravo Care", "bravo")
    bravo_user = make_user("bob@bravo.example")
    bravo_member = make_membership(bravo, bravo_user, role="owner")
    bravo_doc = make_issued_document(bravo, bravo_member)
    assert get(signed_in(world, "owner"), f"issued-documents/{bravo_doc.pk}/").status_code == 404
    outsider = Client(HTTP_HOST=settings.PORTAL_HOST)
    outsider.force_login(bravo_user)
    assert get(outsider, "issued-documents/").status_code == 404
    assert _issue(signed_in(world, "owner"), bravo_member.pk).status_code == 400


def test_D4_expiry_reminders_go_once_to_the_member_and_their_department_head(
    world, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    with tenant_context(world.org):
        department_set_head(department=world.departments["leeds"], head=world.members["manager"])
    soon = make_document(
        world.org, world.members["staff"], "First aid <cert>", today + timedelta(days=30)
    )
    make_document(world.org, world.members["staff"], "Far off", today + timedelta(days=31))
    make_document(world.org, world.members["staff"], "Expired", today - timedelta(days=1))
    make_document(world.org, world.members["staff"], "No expiry")
    south = make_document(world.org, world.members["south_staff"], "Licence", today)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_document_expiry_reminders(world.org.pk) == 2
    sent = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert [to for to, _ in sent] == [
        "manager@alpha.example",
        "south_staff@alpha.example",
        "staff@alpha.example",
    ]
    staff_mail = next(m for m in mail.outbox if m.to == ["staff@alpha.example"])
    assert "First aid &lt;cert&gt;" in staff_mail.body and "in 30 days" in staff_mail.body
    head_mail = next(m for m in mail.outbox if m.to == ["manager@alpha.example"])
    assert "staff@alpha.example" in head_mail.body
    with tenant_context(world.org):
        reminded = set(
            Document.objects.filter(expiry_reminded_at__isnull=False).values_list("pk", flat=True)
        )
        assert reminded == {soon.pk, south.pk}
        assert AuditEvent.objects.filter(action="document.expiry_reminded").count() == 2
    # Once per document: the next day's run sends nothing new for them.
    mail.outbox.clear()
    with (
        time_machine.travel(timezone.now() + timedelta(days=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert send_document_expiry_reminders(world.org.pk) == 1  # "Far off" is now due
    assert [m.to for m in mail.outbox] == [["staff@alpha.example"], ["manager@alpha.example"]]


def test_D4_the_reminder_job_is_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["workforce-document-expiry-reminders"]
    assert entry["task"] == "workforce.send_document_expiry_reminders_all_organizations"
    assert entry["schedule"] == 86400
