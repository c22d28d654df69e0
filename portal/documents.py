"""Documents pages (D4): the web portal's documents and the client portal's shared documents.

The web portal lists the staff documents in the member's scope (Z4, ``selectors.documents_for``)
with their expiry highlighted and a filter by it, a form to file one for members holding
``document.create``, and the issued documents (contracts, letters) they may see. A document's
page shows its fields and its audit timeline (L5) and, to members who may update it, whom it
is shared with, with share and unshare buttons (Z9, ``rbac.grants``). The client portal lists
only the documents shared with the contact one by one.

Rows are rendered from the API's serializers (Z7), so a field the member may not receive, such
as internal notes on the client portal, is never handed to a template. Every button is a plain
form POST that redirects (works without JavaScript).
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from config import converters  # noqa: F401 - registers <id:>
from config.forms import form_status, saved_through, show_service_errors
from portal.deleted import delete_action
from portal.records import (
    DateInput,
    Module,
    column_headings,
    display,
    member_name,
    offer_members,
    record_rows,
)
from portal.timeline import record_timeline
from portal.views import record_fields
from rbac import grants
from rbac.access import membership_has
from rbac.fields import withheld_for_request
from rbac.permissions import requires
from tenants.models import Membership
from workforce import selectors, services
from workforce.api import DocumentSerializer
from workforce.api_domain import IssuedDocumentSerializer
from workforce.documents import (
    EXPIRING_WITHIN_DAYS,
    expiring_soon,
    issued_document_create,
    issued_documents_for,
)
from workforce.models import Document, IssuedDocument

# Lists show this many rows; the API pages through all of them.
DOCUMENTS_SHOWN = 100
ISSUED_SHOWN = 50
# Client contacts and board guests offered as you type an email on a document's page.
SUGGESTIONS_SHOWN = 50

DOCUMENTS = Module(
    "document",
    "Documents",
    "document",
    "documents",
    DocumentSerializer,
    selectors.documents_for,
    (
        ("title", "Title"),
        ("member", "Staff member"),
        ("expires_on", "Expires"),
        ("internal_notes", "Internal notes"),
    ),
    detail="document-detail",
)

ALL, EXPIRING, EXPIRED, VALID = "all", "expiring", "expired", "valid"
STATUS_CHOICES = (
    (ALL, "All documents"),
    (EXPIRING, f"Expiring within {EXPIRING_WITHIN_DAYS} days"),
    (EXPIRED, "Expired"),
)
ISSUED_KINDS = dict(IssuedDocument.Kind.choices)


def expiry_state(expires_on: date | None, today: date) -> str | None:
    """``expired``, ``expiring`` (within the dashboard's window), ``valid``, or None for a
    document that does not expire."""
    if expires_on is None:
        return None
    if expires_on < today:
        return EXPIRED
    if expires_on <= today + timedelta(days=EXPIRING_WITHIN_DAYS):
        return EXPIRING
    return VALID


def _by_status(documents: QuerySet[Document], status: str, today: date) -> QuerySet[Document]:
    if status == EXPIRED:
        return documents.filter(expires_on__lt=today)
    if status == EXPIRING:
        return expiring_soon(documents, today)
    return documents


def _document_rows(request, documents: QuerySet[Document], today: date) -> tuple[list[dict], bool]:
    """The first ``DOCUMENTS_SHOWN`` documents as rows (their expiry state added), and whether
    there are more."""
    records = list(documents[: DOCUMENTS_SHOWN + 1])
    shown = records[:DOCUMENTS_SHOWN]
    rows = [
        {**row, "expiry": expiry_state(record.expires_on, today)}
        for record, row in zip(shown, record_rows(request, DOCUMENTS, shown), strict=True)
    ]
    return rows, len(records) > DOCUMENTS_SHOWN


def _issued_rows(membership) -> list[dict]:
    data = IssuedDocumentSerializer(issued_documents_for(membership)[:ISSUED_SHOWN], many=True).data
    return [
        {
            "id": row["id"],
            "kind": ISSUED_KINDS.get(row["kind"], row["kind"]),
            "title": row["title"],
            "member": display(row["member"]),
            "issued_at": display(row["issued_at"]),
            "body": row["body"],
        }
        for row in data
    ]


# --- forms --------------------------------------------------------------------------------


class StatusFilter(forms.Form):
    status = forms.ChoiceField(label="Show", choices=STATUS_CHOICES, required=False)


class DocumentForm(forms.Form):
    """Files a document for a member in the creator's scope (themselves by default), as the
    API's ``DocumentInput``; internal notes only for members who may read them (Z7)."""

    member = forms.ModelChoiceField(label="Staff member", queryset=None, empty_label=None)
    title = forms.CharField(label="Title", max_length=200)
    expires_on = forms.DateField(label="Expires on (optional)", required=False, widget=DateInput)
    internal_notes = forms.CharField(
        label="Internal notes (optional)", max_length=5000, required=False, widget=forms.Textarea
    )

    def __init__(self, data, *, membership: Membership, withheld: frozenset[str]):
        super().__init__(data, initial={"member": membership.pk})
        offer_members(self.fields["member"], membership, "document")
        if "internal_notes" in withheld:
            del self.fields["internal_notes"]


class IssueForm(forms.Form):
    """A contract or letter for a member in the issuer's scope (D4)."""

    member = forms.ModelChoiceField(label="For", queryset=None)
    kind = forms.ChoiceField(choices=IssuedDocument.Kind.choices)
    title = forms.CharField(max_length=200)
    body = forms.CharField(label="Text", max_length=20000, widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, data, *, membership: Membership):
        super().__init__(data)
        offer_members(self.fields["member"], membership, "issued_document")


class ShareForm(forms.Form):
    """Shares the document with one active member, named by email (Z9): in an organisation of
    thousands a list of everyone would be unusable, so the page suggests its client contacts
    and board guests (``grants.share_suggestions``) and takes any member's address."""

    email = forms.EmailField(
        label="Member's email",
        max_length=254,
        widget=forms.EmailInput(attrs={"list": "share-suggestions", "autocomplete": "off"}),
    )

    def __init__(self, data=None, *, document: Document):
        super().__init__(data)
        self.document = document

    def clean_email(self) -> Membership:
        member = grants.active_member(self.cleaned_data["email"])
        if member is None:
            raise forms.ValidationError(
                "No active member of this organisation has that email address. Invite them "
                "from People first."
            )
        if grants.document_grants(self.document).filter(user_id=member.user_id).exists():
            raise forms.ValidationError("The document is already shared with them.")
        return member


# --- web portal -----------------------------------------------------------------------------


@requires({"GET": "document.view", "POST": "document.create"})
@login_required
def documents(request, org_slug: str):
    form = None
    if membership_has(request.membership, "document.create"):
        form = DocumentForm(
            request.POST if request.method == "POST" else None,
            membership=request.membership,
            withheld=withheld_for_request(request),
        )
    if saved_through(
        request,
        form,
        services.document_create,
        lambda filed: f"The document “{filed.title}” is filed.",
    ):
        return redirect("documents", org_slug=org_slug)
    return _documents_page(request, form=form)


@requires("issued_document.create")
@require_POST
@login_required
def issued_document_new(request, org_slug: str):
    """Issues a contract or letter to a member in the issuer's scope (D4), as the API's
    ``IssuedDocumentInput``; the documents page shows the form."""
    issue_form = IssueForm(request.POST, membership=request.membership)
    if saved_through(
        request,
        issue_form,
        issued_document_create,
        lambda issued: (
            f"“{issued.title}” is issued to {member_name(issued.member)}. They read it under "
            "Documents."
        ),
    ):
        return redirect("documents", org_slug=org_slug)
    return _documents_page(request, issue_form=issue_form)


def _documents_page(
    request, *, form: DocumentForm | None = None, issue_form: IssueForm | None = None
):
    """The documents page; ``form`` and ``issue_form`` as submitted, with their errors."""
    membership = request.membership
    if form is None and membership_has(membership, "document.create"):
        form = DocumentForm(None, membership=membership, withheld=withheld_for_request(request))
    if issue_form is None and membership_has(membership, "issued_document.create"):
        issue_form = IssueForm(None, membership=membership)
    # An unknown status is a 400 that says so, over the whole list.
    status_filter = StatusFilter(request.GET)
    status = ALL
    if status_filter.is_valid():
        status = status_filter.cleaned_data["status"] or ALL
    today = timezone.localdate()
    documents = selectors.documents_for(membership, withheld_for_request(request))
    rows, more = _document_rows(request, _by_status(documents, status, today), today)
    issued = None
    if membership_has(membership, "issued_document.view"):
        issued = _issued_rows(membership)
    return render(
        request,
        "portal/documents.html",
        {
            "organization": request.organization,
            "module": DOCUMENTS,
            "headings": column_headings(request, DOCUMENTS),
            "rows": rows,
            "more": more,
            "status": status,
            "status_filter": status_filter,
            "form": form,
            "issue_form": issue_form,
            "issued": issued,
        },
        status=form_status(status_filter, form, issue_form),
    )


def _detail_page(
    request, record_id: int, *, share_form: ShareForm | None = None, status: int = 200
):
    membership = request.membership
    document = selectors.access_document(membership, withheld_for_request(request), record_id)
    timeline, truncated = record_timeline(request, document)
    shared = None
    # Z9: who may update a document may share it, as the grants API decides.
    if grants.can(membership, "document.update", document):
        shared = list(grants.document_grants(document))
        share_form = share_form or ShareForm(document=document)
        suggestions = list(grants.share_suggestions(document)[:SUGGESTIONS_SHOWN])
    else:
        share_form = suggestions = None
    return render(
        request,
        "portal/documents_detail.html",
        {
            "organization": request.organization,
            "title": document.title,
            "back": ("documents", "Documents"),
            "fields": record_fields(DocumentSerializer(document, context={"request": request})),
            "record_id": document.pk,
            "delete": delete_action(request, "documents", document),
            "expiry": expiry_state(document.expires_on, timezone.localdate()),
            "shared": shared,
            "share_form": share_form,
            "suggestions": suggestions,
            "timeline": timeline,
            "timeline_truncated": truncated,
        },
        status=status,
    )


@requires("document.view")
@login_required
def document_detail(request, org_slug: str, record_id: int):
    return _detail_page(request, record_id)


@requires("document.update")
@require_POST
@login_required
def document_share(request, org_slug: str, record_id: int):
    document = grants.access_document_for(request.membership, "document.update", record_id)
    form = ShareForm(request.POST, document=document)
    if form.is_valid():
        member = form.cleaned_data["email"]
        try:
            grants.document_share(
                document=document, user=member.user, granted_by=request.membership
            )
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            where = "on the client portal" if member.client_id else "on the web portal"
            messages.success(
                request,
                f"“{document.title}” is shared with {member_name(member)}."
                f" They see it under Documents {where}.",
            )
            return redirect("document-detail", org_slug=org_slug, record_id=record_id)
    return _detail_page(request, record_id, share_form=form, status=400)


@requires("document.update")
@require_POST
@login_required
def document_unshare(request, org_slug: str, record_id: int, user_id: int):
    document = grants.access_document_for(request.membership, "document.update", record_id)
    grant = grants.access_document_grant(document, user_id)  # 404 when not shared with them
    grants.document_unshare(document=document, user=grant.user)
    messages.success(
        request,
        f"“{document.title}” is no longer shared with {grant.user.get_full_name()}.",
    )
    return redirect("document-detail", org_slug=org_slug, record_id=record_id)


# --- client portal --------------------------------------------------------------------------


@requires("document.view")
@login_required
def client_documents(request, org_slug: str):
    """The documents shared with this contact (Z9), read-only; the client host withholds
    internal notes whatever the role says (Z7), so they have no column."""
    membership = request.membership
    shared = grants.shared_with(
        selectors.documents_for(membership, withheld_for_request(request)), membership
    )
    rows, more = _document_rows(request, shared, timezone.localdate())
    return render(
        request,
        "client/documents.html",
        {
            "organization": request.organization,
            "module": DOCUMENTS,
            "headings": column_headings(request, DOCUMENTS),
            "rows": rows,
            "more": more,
        },
    )


page_patterns: list = [
    path("documents/", documents, name="documents"),
    path("documents/issue/", issued_document_new, name="issued-document-new"),
    path("documents/<id:record_id>/", document_detail, name="document-detail"),
    path("documents/<id:record_id>/share/", document_share, name="document-share"),
    path(
        "documents/<id:record_id>/shared/<id:user_id>/unshare/",
        document_unshare,
        name="document-unshare",
    ),
]
client_page_patterns: list = [
    path("documents/", client_documents, name="client-documents"),
]
