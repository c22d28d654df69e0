"""Client accounts pages (D1): the clients list with a form to add one, and a client's page
with its contacts, the sites where its shifts are, its Delete button and its audit timeline
(L5).

Clients are not a scoped module: ``client.view`` decides who lists them, and the rows come
from the API's selector and serializer (``selectors.clients_for``, ``ClientSerializer``), so
internal notes reach only ``internal_note.view`` holders, on the page and in the timeline
(Z7). The form calls ``services.client_create`` like the API; a refusal is a 400 with the
form and nothing saved.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_safe

from config import converters  # noqa: F401 - registers <id:>
from config.forms import form_status, saved_through
from portal.deleted import delete_action
from portal.records import Module, column_headings, record_rows
from portal.timeline import record_timeline
from portal.views import record_fields
from rbac.access import membership_has
from rbac.fields import withheld_fields, withheld_for_request
from rbac.permissions import requires
from tenants.models import Membership
from workforce import selectors, services
from workforce.api import ClientSerializer
from workforce.models import Client

# The list shows this many clients; the clients API pages through all of them.
CLIENTS_SHOWN = 100

CLIENTS = Module(
    "client",
    "Clients",
    "client",
    "client-list",
    ClientSerializer,
    lambda membership: selectors.clients_for(withheld_fields(membership, client_portal=False)),
    (("name", "Name"), ("internal_notes", "Internal notes"), ("created_at", "Added")),
    detail="client-detail",
)


class ClientForm(forms.Form):
    """The API's ``ClientInput``: internal notes only for members who may read them (Z7)."""

    name = forms.CharField(label="Name", max_length=Client._meta.get_field("name").max_length)
    internal_notes = forms.CharField(
        label="Internal notes (optional, never shown to the client)",
        max_length=Client._meta.get_field("internal_notes").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, data, *, withheld: frozenset[str]):
        super().__init__(data)
        if "internal_notes" in withheld:
            del self.fields["internal_notes"]


@requires({"GET": "client.view", "POST": "client.create"})
@login_required
def client_list(request, org_slug: str):
    withheld = withheld_for_request(request)
    form = None
    if membership_has(request.membership, "client.create"):
        form = ClientForm(request.POST if request.method == "POST" else None, withheld=withheld)
    client = saved_through(
        request, form, services.client_create, lambda added: f"The client “{added.name}” is added."
    )
    if client is not None:
        return redirect("client-detail", org_slug=org_slug, record_id=client.pk)
    records = list(selectors.clients_for(withheld)[: CLIENTS_SHOWN + 1])
    return render(
        request,
        "portal/client_list.html",
        {
            "organization": request.organization,
            "module": CLIENTS,
            "headings": column_headings(request, CLIENTS),
            "rows": record_rows(request, CLIENTS, records[:CLIENTS_SHOWN]),
            "more": len(records) > CLIENTS_SHOWN,
            "form": form,
        },
        status=form_status(form),
    )


def _sites_with_shifts(request, client: Client):
    """The sites of this client's shifts that the member sees (Z4: shifts are scoped, so
    only members who see shifts learn where they are), in one query."""
    membership = request.membership
    if not membership_has(membership, "shift.view") or not membership_has(membership, "site.view"):
        return None
    shifts = selectors.shifts_for(membership, withheld_for_request(request)).filter(client=client)
    return selectors.sites_list().filter(pk__in=shifts.values("site_id"))


@requires("client.view")
@require_safe
@login_required
def client_detail(request, org_slug: str, record_id: int):
    client = selectors.access_client(withheld_for_request(request), record_id)
    serializer = ClientSerializer(client, context={"request": request})
    timeline, truncated = record_timeline(request, client, serializer)
    return render(
        request,
        "portal/client_detail.html",
        {
            "organization": request.organization,
            "title": client.name,
            "back": ("client-list", "Clients"),
            "fields": record_fields(serializer),
            "record_id": client.pk,
            # D6: the contacts who use the client portal, by name and email only.
            "contacts": Membership.objects.active()
            .filter(client=client)
            .select_related("user")
            .order_by("user__full_name", "user__email", "id"),
            "sites": _sites_with_shifts(request, client),
            "delete": delete_action(request, "clients", client),
            "timeline": timeline,
            "timeline_truncated": truncated,
        },
    )


page_patterns: list = [
    path("clients/", client_list, name="client-list"),
    path("clients/<id:record_id>/", client_detail, name="client-detail"),
]
