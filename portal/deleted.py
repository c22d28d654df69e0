"""Deleted items (G6): the soft-deleted rows of every module the member may delete, most
recently deleted first, each with a Restore button; and the Delete button of a record's page
and of the list pages that show records.

The rows, scopes and writes are the API's (``workforce.api.DELETED_MODULES``: the same
selectors with ``deleted=True``, the same serializers, so a field the member may not receive
never reaches the page, Z7; ``services.record_delete`` and ``services.record_restore``, which
record ``<model>.deleted`` and ``<model>.restored``). Every button is a plain form POST that
redirects, so the page works without JavaScript; each module has one delete and one restore
route (``delete_view``, ``restore_view``), declaring ``<subject>.delete``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from portal.records import STATUS_LABELS, display
from rbac.access import membership_has
from rbac.fields import withheld_for_request
from rbac.permissions import requires, requires_any
from workforce import services
from workforce.api import DELETED_MODULES, DeletedModule

# Each section shows the most recently deleted rows; the API's deleted lists page through all.
DELETED_SHOWN = 50


@dataclass(frozen=True)
class Section:
    """How the page shows one of ``DELETED_MODULES``."""

    title: str
    noun: str
    columns: tuple[tuple[str, str], ...]  # (serializer field, heading)
    detail: str  # URL name of a live record's page (portal.record_pages and friends)


SECTIONS: dict[str, Section] = {
    "shifts": Section(
        "Shifts",
        "shift",
        (("site", "Site"), ("starts_at", "Starts"), ("ends_at", "Ends"), ("member", "Member")),
        detail="shift-detail",
    ),
    "sites": Section(
        "Sites",
        "site",
        (("name", "Name"), ("address", "Address"), ("department", "Department")),
        detail="site-detail",
    ),
    "clients": Section("Clients", "client", (("name", "Name"),), detail="client-detail"),
    "leave": Section(
        "Leave requests",
        "leave request",
        (("member", "Member"), ("starts_on", "From"), ("ends_on", "To"), ("status", "Status")),
        detail="leave-detail",
    ),
    "expenses": Section(
        "Expenses",
        "expense",
        (
            ("member", "Member"),
            ("amount", "Amount"),
            ("description", "Description"),
            ("status", "Status"),
        ),
        detail="expense-detail",
    ),
    "timesheets": Section(
        "Timesheets",
        "timesheet",
        (
            ("member", "Member"),
            ("period_start", "From"),
            ("period_end", "To"),
            ("status", "Status"),
        ),
        detail="timesheet-detail",
    ),
    "documents": Section(
        "Documents",
        "document",
        (("member", "Member"), ("title", "Title"), ("expires_on", "Expires")),
        detail="document-detail",
    ),
}
assert SECTIONS.keys() == DELETED_MODULES.keys(), "every deleted module has a section"

# Who may open the page: holders of any of these (its declaration, and the navigation's link).
DELETE_PERMISSIONS: tuple[str, ...] = tuple(
    f"{module.subject}.delete" for module in DELETED_MODULES.values()
)


def deletable_modules(membership) -> list[str]:
    """The modules whose rows this member may delete, and so list deleted and restore."""
    return [
        name
        for name, module in DELETED_MODULES.items()
        if membership_has(membership, f"{module.subject}.delete")
    ]


def deletable_module(membership, subject: str) -> str:
    """The module of ``subject``'s records ("expenses" for "expense") when this member may
    delete them, else "": list pages show a Delete button per row only then."""
    names = deletable_modules(membership)
    return next((name for name in names if DELETED_MODULES[name].subject == subject), "")


def _cell(row: dict, name: str) -> str:
    value = row.get(name)
    return STATUS_LABELS.get(value, value) if name == "status" else display(value)


def _summary(request, name: str, record) -> str:
    """The record's first two cells, to name it in a message ("Leeds Depot, 3 Mar 2026")."""
    rows = _rows(request, DELETED_MODULES[name], SECTIONS[name], [record])
    return ", ".join(rows[0]["cells"][:2])


def _rows(request, module: DeletedModule, section: Section, records) -> list[dict]:
    data = module.serializer(records, many=True, context={"request": request}).data
    return [
        {
            "id": record.pk,
            "deleted_at": record.deleted_at,
            "cells": [_cell(row, name) for name, _ in section.columns],
        }
        for record, row in zip(records, data, strict=True)
    ]


@requires_any(*DELETE_PERMISSIONS)
@login_required
def deleted_items(request, org_slug: str):
    membership = request.membership
    withheld = withheld_for_request(request)
    sections = []
    for name in deletable_modules(membership):
        module, section = DELETED_MODULES[name], SECTIONS[name]
        records = list(module.rows(membership, withheld, True)[: DELETED_SHOWN + 1])
        sections.append(
            {
                "name": name,
                "section": section,
                "headings": [heading for _, heading in section.columns],
                "rows": _rows(request, module, section, records[:DELETED_SHOWN]),
                "more": len(records) > DELETED_SHOWN,
            }
        )
    return render(
        request,
        "portal/deleted.html",
        {
            "organization": request.organization,
            "sections": sections,
            "any_deleted": any(entry["rows"] for entry in sections),
        },
    )


def restore_view(name: str):
    """The POST that restores one deleted row of the module ``name``, declaring its subject's
    delete permission (a route per module, so an unknown module matches nothing: 404). The
    route passes ``module``, so one URL name reverses for every module."""

    @requires(f"{DELETED_MODULES[name].subject}.delete")
    @require_POST
    @login_required
    def restore(request, org_slug: str, record_id: int, module: str):
        deleted, section = DELETED_MODULES[module], SECTIONS[module]
        # A live row, one outside the member's scope or of another organisation: 404.
        record = get_object_or_404(
            deleted.rows(request.membership, withheld_for_request(request), True), pk=record_id
        )
        summary = _summary(request, module, record)
        try:
            services.record_restore(record=record)
        except ValidationError as refusal:
            # A clash with the member's live rows (G6): the row stays deleted and listed, and
            # the message names it, as the page may list several alike.
            messages.error(request, f"{summary}: {' '.join(refusal.messages)}")
            return redirect("deleted-items", org_slug=org_slug)
        url = reverse(section.detail, kwargs={"org_slug": org_slug, "record_id": record.pk})
        messages.success(
            request,
            format_html(
                'The {} ({}) is restored. <a href="{}">Open it</a>', section.noun, summary, url
            ),
        )
        return redirect("deleted-items", org_slug=org_slug)

    restore.__name__ = restore.__qualname__ = f"{name}_restore"
    return restore


def delete_view(name: str):
    """The Delete button's POST for one row of the module ``name``: a soft delete (G6) of a
    live row in the member's scope (anything else is a 404), refused when the page sent the
    version it showed and the row changed since (as the API's ``If-Match``). Declared and
    routed per module like ``restore_view``."""

    @requires(f"{DELETED_MODULES[name].subject}.delete")
    @require_POST
    @login_required
    def delete(request, org_slug: str, record_id: int, module: str):
        section = SECTIONS[module]
        record = get_object_or_404(
            DELETED_MODULES[module].rows(request.membership, withheld_for_request(request), False),
            pk=record_id,
        )
        summary = _summary(request, module, record)
        version = request.POST.get("version")
        try:
            services.record_delete(record=record, expected_versions=[version] if version else None)
        except services.StaleRecord:
            messages.error(
                request,
                f"This {section.noun} changed after you opened it. Check it, then delete it again.",
            )
            return redirect(section.detail, org_slug=org_slug, record_id=record_id)
        messages.success(
            request,
            f"The {section.noun} ({summary}) is deleted. It stays here until you restore it.",
        )
        return redirect("deleted-items", org_slug=org_slug)

    delete.__name__ = delete.__qualname__ = f"{name}_delete"
    return delete


def delete_action(request, name: str, record) -> dict | None:
    """What a record's page needs for its Delete button (``portal/record_detail.html``), for
    members holding the module's delete permission: the module and the version shown, so a
    row changed meanwhile is not deleted unseen."""
    if not membership_has(request.membership, f"{DELETED_MODULES[name].subject}.delete"):
        return None
    return {"module": name, "noun": SECTIONS[name].noun, "version": services.record_version(record)}
