"""The rota (D2): one week of the shifts this member sees, as a grid of sites by day.

One query for the week whatever its size (the selector names the site and member of each
shift, and the grid is built in Python from plain tuples), plus the tenant layer's. The week is
``?week=2026-W48`` (ISO 8601); a missing or malformed one is the current week.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from rbac.access import membership_has
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


@dataclass(frozen=True)
class RotaShift:
    """One shift as the grid shows it: its link, its times and who works it."""

    url: str
    times: str
    who: str


@dataclass
class RotaRow:
    site: str
    days: list[list[RotaShift]] = field(default_factory=lambda: [[] for _ in range(7)])


# What the grid shows of a shift: no model instances are built for a week of them.
ROTA_COLUMNS = ("id", "site_id", "site_name", "starts_at", "ends_at", "member_name")
ID_STAND_IN = 999_999_999


def rota_rows(shifts, monday: date, shift_pages: list[str]) -> list[RotaRow]:
    """``shifts``: tuples of ``ROTA_COLUMNS``; ``shift_pages``: a shift page's URL before
    and after its id."""
    rows: dict[int, RotaRow] = {}
    for pk, site_id, site_name, starts_at, ends_at, member_name in shifts:
        starts, ends = timezone.localtime(starts_at), timezone.localtime(ends_at)
        day = (starts.date() - monday).days
        if 0 <= day < 7:
            shift = RotaShift(
                url=f"{shift_pages[0]}{pk}{shift_pages[1]}",
                times=f"{starts:%H:%M}\u2013{ends:%H:%M}",
                who=member_name or "Unassigned",
            )
            rows.setdefault(site_id, RotaRow(site_name)).days[day].append(shift)
    return sorted(rows.values(), key=lambda row: row.site.lower())


@requires("shift.view")
@login_required
def rota(request, org_slug: str):
    monday = week_start(request.GET.get("week"))
    start = timezone.make_aware(datetime.combine(monday, time.min))
    # Only the grid's columns are read (none is a guarded field, Z7).
    shifts = list(
        selectors.shifts_for(request.membership, withheld_for_request(request))
        .filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=7))
        .values_list(*ROTA_COLUMNS)[: ROTA_MAX_SHIFTS + 1]
    )
    # One reverse for the week, not one per shift: a shift's URL around a stand-in id.
    shift_url = reverse("shift-detail", kwargs={"org_slug": org_slug, "record_id": ID_STAND_IN})
    shift_pages = shift_url.rsplit(str(ID_STAND_IN), 1)
    context = {
        "organization": request.organization,
        "week": week_label(monday),
        "days": [monday + timedelta(days=i) for i in range(7)],
        "previous_week": week_label(monday - timedelta(days=7)),
        "next_week": week_label(monday + timedelta(days=7)),
        "this_week": week_label(week_start(None)),
        "rows": rota_rows(shifts[:ROTA_MAX_SHIFTS], monday, shift_pages),
        "truncated": len(shifts) > ROTA_MAX_SHIFTS,
        "can_add": membership_has(request.membership, "shift.create"),
    }
    # htmx (the week picker) asks for the grid alone; without JavaScript the whole page.
    template = "portal/rota_grid.html" if request.headers.get("HX-Request") else "portal/rota.html"
    return render(request, template, context)
