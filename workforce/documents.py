"""Documents: contracts and letters the organisation issues to members, and reminders of staff
documents that are about to expire (D4).

Issued documents are plain text: the API returns them verbatim as JSON strings, and anything
that renders them (pages, emails) goes through Django's autoescaping templates, so markup in
a title or body is shown, never interpreted.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.mail import send_templated_email
from audit.services import audit_event_record
from rbac.scopes import visible
from tenants.context import current_organization_id
from tenants.models import Membership, Organization
from workforce.models import Document, IssuedDocument
from workforce.services import member_record_create

ISSUED_DOCUMENT_FIELDS = ["member", "department", "kind", "title", "issued_at"]
# A staff document expiring within this window is reminded of, once.
# A document expiring within this many days is "expiring soon": its member is reminded, and
# the dashboard and the documents page show it as such.
EXPIRING_WITHIN_DAYS = 30
REMINDER_BATCH = 500


# --- issued documents -----------------------------------------------------------------------


def issued_documents_for(membership: Membership) -> QuerySet[IssuedDocument]:
    documents = IssuedDocument.objects.select_related("department", "member__user")
    return visible(documents, "issued_document", membership).order_by("-issued_at", "-id")


def access_issued_document(membership: Membership, document_id: int) -> IssuedDocument:
    return get_object_or_404(issued_documents_for(membership), pk=document_id)


@transaction.atomic
def issued_document_create(
    *, member: Membership, kind: str, title: str, body: str
) -> IssuedDocument:
    """Issues a contract or letter to ``member``. The body is not copied into the audit event
    (it can be long and personal); the event names the document, whose row keeps it."""
    return member_record_create(
        IssuedDocument,
        ISSUED_DOCUMENT_FIELDS,
        member=member,
        kind=kind,
        title=title.strip(),
        body=body,
    )


# --- expiry reminders -----------------------------------------------------------------------


def _recipients(member: Membership) -> list[str]:
    """The member, and the head of their department if there is one (and it is someone
    else who is still an active member)."""
    emails = [member.user.email]
    department = member.department
    head = department.head if department is not None else None
    if (
        head is not None
        and head.pk != member.pk
        and Membership.objects.active().filter(pk=head.pk).exists()
    ):
        emails.append(head.user.email)
    return emails


def expiring_soon(documents: QuerySet[Document], today: date) -> QuerySet[Document]:
    """The ``documents`` that have not expired but will within ``EXPIRING_WITHIN_DAYS``."""
    return documents.filter(
        expires_on__gte=today, expires_on__lte=today + timedelta(days=EXPIRING_WITHIN_DAYS)
    )


@transaction.atomic
def document_expiry_reminders_send() -> int:
    """Emails each member whose live document is ``expiring_soon`` (and
    their department head), once per document: ``expiry_reminded_at`` is set and a
    ``document.expiry_reminded`` event recorded in the same transaction, and the emails go
    after it commits. Documents another run has locked are skipped. Returns how many."""
    today = timezone.localdate()
    now = timezone.now()
    due = list(
        expiring_soon(Document.objects.select_for_update(of=("self",), skip_locked=True), today)
        .filter(expiry_reminded_at__isnull=True)
        .select_related("member__user", "member__department__head__user")
        .order_by("expires_on", "id")[:REMINDER_BATCH]
    )
    organization = Organization.objects.get(pk=current_organization_id()) if due else None
    for document in due:
        Document.objects.filter(pk=document.pk).update(expiry_reminded_at=now)
        recipients = _recipients(document.member)
        audit_event_record(
            action="document.expiry_reminded",
            entity=document,
            changes={
                "expiry_reminded_at": [None, now.isoformat()],
                "recipients": [None, len(recipients)],
            },
        )
        context = {
            "organization": organization,
            "member_name": document.member.user.get_full_name(),
            "title": document.title,
            "expires_on": document.expires_on,
            "days_left": (document.expires_on - today).days,
        }
        for index, email in enumerate(recipients):
            template = "document_expiry" if index == 0 else "document_expiry_head"
            transaction.on_commit(
                lambda email=email, template=template, context=context: send_templated_email(
                    to=email, template=template, context=context
                )
            )
    return len(due)
