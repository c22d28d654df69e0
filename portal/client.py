"""The client portal's home (D6): the client's sites, their upcoming and past shifts with the
staff assigned (names only), and their timesheets, with approve and reject where the
contact's role approves timesheets.

Rendered from the API's serializers on the client host, where ``rbac.fields`` withholds pay
rates, margins and internal notes whatever the role says (Z7): the page cannot show what it
is never given. The shift table shows the site, the times and the staff member's name only.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from portal.records import (
    MODULES,
    column_headings,
    display,
    pending_for_approver,
    record_rows,
)
from rbac.access import membership_has
from rbac.fields import withheld_for_request
from rbac.permissions import requires
from workforce import selectors
from workforce.api import ShiftSerializer, SiteSerializer

SHIFTS_SHOWN = 20
CLIENT_SHIFT_COLUMNS = (("site", "Site"), ("starts_at", "Starts"), ("ends_at", "Ends"))


def _shift_rows(request, shifts) -> list[dict]:
    data = ShiftSerializer(shifts, many=True, context={"request": request}).data
    return [
        {
            "cells": [display(row.get(name)) for name, _ in CLIENT_SHIFT_COLUMNS],
            "staff": display(row.get("member")) if row.get("member") else "Not assigned yet",
        }
        for row in data
    ]


@requires("shift.view")
@login_required
def client_home(request, org_slug: str):
    membership = request.membership
    shifts = selectors.shifts_for(membership, withheld_for_request(request))
    now = timezone.now()
    sites = selectors.sites_list().filter(pk__in=shifts.values("site_id"))
    module = MODULES["timesheet"]
    timesheets = None
    if membership_has(membership, "timesheet.view"):
        timesheets = record_rows(request, module, selectors.timesheets_for(membership)[:50])
    pending = pending_for_approver(request, module)
    return render(
        request,
        "client/home.html",
        {
            "organization": request.organization,
            "sites": SiteSerializer(sites, many=True).data,
            "shift_headings": [heading for _, heading in CLIENT_SHIFT_COLUMNS],
            "upcoming": _shift_rows(request, shifts.filter(starts_at__gte=now)[:SHIFTS_SHOWN]),
            "past": _shift_rows(
                request, shifts.filter(starts_at__lt=now).order_by("-starts_at")[:SHIFTS_SHOWN]
            ),
            "module": module,
            "headings": ["Staff member", *column_headings(request, module)],
            "timesheets": timesheets,
            "pending_rows": None
            if pending is None
            else record_rows(request, module, pending[:SHIFTS_SHOWN]),
            "decide_url_names": {
                "approve": "client-timesheet-approve",
                "reject": "client-timesheet-reject",
            },
        },
    )
