from dataclasses import dataclass

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import capfirst
from django.views.decorators.http import require_http_methods

from config.forms import form_status, saved_through
from rbac.access import membership_has
from rbac.fields import withheld_for_request
from rbac.permissions import requires
from workforce import selectors, services
from workforce.api import ShiftSerializer
from workforce.exports import cell_text

SHIFTS_PER_PAGE = 50


class SiteForm(forms.Form):
    name = forms.CharField(max_length=200)
    address = forms.CharField(
        label="Address (optional)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    department = forms.ModelChoiceField(
        label="Department (its managers see the site's shifts)",
        queryset=None,
        required=False,
        empty_label="None",
    )

    def __init__(self, data=None):
        super().__init__(data)
        self.fields["department"].queryset = selectors.departments_list()


@requires({"GET": "site.view", "POST": "site.create"})
@require_http_methods(["GET", "POST"])
@login_required
def site_list(request, org_slug: str):
    """The sites, with a form to add one for members holding ``site.create`` (D1)."""
    form = None
    if membership_has(request.membership, "site.create"):
        form = SiteForm(request.POST if request.method == "POST" else None)
    if saved_through(
        request, form, services.site_create, lambda site: f"The site {site.name} is added."
    ):
        return redirect("site-list", org_slug=org_slug)
    return render(
        request,
        "portal/site_list.html",
        {"organization": request.organization, "sites": selectors.sites_list(), "form": form},
        status=form_status(form),
    )


UPCOMING, OPEN, PAST, ALL = "upcoming", "open", "past", "all"


class ShiftListFilter(forms.Form):
    show = forms.ChoiceField(
        choices=[
            (UPCOMING, "Upcoming shifts"),
            (OPEN, "Upcoming shifts nobody is assigned to"),
            (PAST, "Past shifts, latest first"),
            (ALL, "All shifts"),
        ],
        required=False,
    )


def _shown(shifts, show: str):
    """``shifts`` narrowed to what ``show`` asks for: a shift is upcoming until it ends."""
    now = timezone.now()
    if show == UPCOMING:
        return shifts.filter(ends_at__gt=now)
    if show == OPEN:
        return shifts.filter(ends_at__gt=now, member__isnull=True)
    if show == PAST:
        return shifts.filter(ends_at__lte=now).order_by("-starts_at", "-id")
    return shifts


@dataclass(frozen=True)
class ShiftPage:
    rows: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _page_of(shifts, requested: str | None) -> ShiftPage:
    """One page of ``shifts`` and whether another follows, found by reading one row more
    rather than by counting: a COUNT over an organisation's 500,000 shifts costs ~45 ms on
    every page (bench). A page number that is not a positive number of at most seven digits
    is the first page."""
    valid = requested and requested.isdigit() and len(requested) <= 7 and int(requested) > 0
    number = int(requested) if valid else 1
    start = (number - 1) * SHIFTS_PER_PAGE
    rows = list(shifts[start : start + SHIFTS_PER_PAGE + 1])
    return ShiftPage(rows[:SHIFTS_PER_PAGE], number, len(rows) > SHIFTS_PER_PAGE)


def _shift_page(request):
    """The visible shifts as a table built from the API's serializer (Z7): the columns are
    the fields this member may receive on this site, so a withheld one has no column at all,
    and the template cannot show what it was never given. Upcoming shifts first; a filter
    shows the open ones (nobody assigned), the past ones or all (an unknown choice is a 400
    that says so, over the upcoming shifts)."""
    show_filter = ShiftListFilter(request.GET)
    show = UPCOMING
    if show_filter.is_valid():
        show = show_filter.cleaned_data["show"] or UPCOMING
    shifts = _shown(selectors.shifts_for(request.membership, withheld_for_request(request)), show)
    page = _page_of(shifts, request.GET.get("page"))
    serializer = ShiftSerializer(page.rows, many=True, context={"request": request})
    fields = serializer.child.fields
    return render(
        request,
        "workforce/shift_list.html",
        {
            "organization": request.organization,
            "columns": [fields[name].label or capfirst(name.replace("_", " ")) for name in fields],
            # (id, cells): the id links the row to the shift's page on the web portal.
            "rows": [
                (row["id"], [cell_text(row[name]) for name in fields]) for row in serializer.data
            ],
            "page": page,
            "show": show,
            "show_filter": show_filter,
            "can_add": membership_has(request.membership, "shift.create"),
            "can_export": membership_has(request.membership, "shift.export"),
        },
        status=400 if show_filter.errors else 200,
    )


@requires("shift.view")
@login_required
def shift_list(request, org_slug: str):
    return _shift_page(request)


@requires("shift.view")
@login_required
def client_shift_list(request, org_slug: str):
    """The client portal's shifts: ``rbac.fields`` withholds pay rates, margins and internal
    notes on this site whatever the role allows."""
    return _shift_page(request)
