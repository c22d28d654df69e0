"""The rota (D2): one week of the shifts this member sees, as a grid of sites by day.

One query for the week whatever its size (the selector loads site, client and member with
the shift, and the grid is built in Python), plus the tenant layer's. The week is
``?week=2026-W48`` (ISO 8601); a missing or malformed one is the current week.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from rbac.fields import withheld_for_request
from rbac.permissions import requires
from workforce import selectors

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
# A week with more shifts than this shows the first ones and says so: the page stays usable
# and its cost bounded for organisations with thousands of shifts a day.
ROTA_MAX_SHIFTS = 1000


def week_start(value: str | None) -> date:
    """Monday of the ISO week ``value`` (``YYYY-Www``), or of this week."""
    if value and (match := WEEK.match(value)):
        try:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            pass
    today = timezone.localdate()
    return today - timedelta(days=today.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class RotaRow:
    site: str
    days: list[list] = field(default_factory=lambda: [[] for _ in range(7)])


def rota_rows(shifts, monday: date) -> list[RotaRow]:
    rows: dict[int, RotaRow] = {}
    for shift in shifts:
        day = (timezone.localtime(shift.starts_at).date() - monday).days
        if 0 <= day < 7:
            rows.setdefault(shift.site_id, RotaRow(shift.site.name)).days[day].append(shift)
    return sorted(rows.values(), key=lambda row: row.site.lower())


@requires("shift.view")
@login_required
def rota(request, org_slug: str):
    monday = week_start(request.GET.get("week"))
    start = timezone.make_aware(datetime.combine(monday, time.min))
    # The selector does not load the fields this member may not receive (Z7).
    shifts = list(
        selectors.shifts_for(request.membership, withheld_for_request(request)).filter(
            starts_at__gte=start, starts_at__lt=start + timedelta(days=7)
        )[: ROTA_MAX_SHIFTS + 1]
    )
    context = {
        "organization": request.organization,
        "week": week_label(monday),
        "days": [monday + timedelta(days=i) for i in range(7)],
        "previous_week": week_label(monday - timedelta(days=7)),
        "next_week": week_label(monday + timedelta(days=7)),
        "this_week": week_label(week_start(None)),
        "rows": rota_rows(shifts[:ROTA_MAX_SHIFTS], monday),
        "truncated": len(shifts) > ROTA_MAX_SHIFTS,
    }
    # htmx (the week picker) asks for the grid alone; without JavaScript the whole page.
    template = "portal/rota_grid.html" if request.headers.get("HX-Request") else "portal/rota.html"
    return render(request, template, context)
