"""Scheduling on the web portal (D2): adding a shift, and changing one from its page, for
members holding ``shift.create`` and ``shift.update``.

The choices are what the API's ``ShiftInput`` lets the member refer to: sites and members in
their shift scope (Z4), any client, any designation. Pay rates, bill rates and internal notes
the member may not receive (Z7) are neither shown nor set; a role that may not set the rates
every shift needs is told so instead of getting a form that cannot succeed. The services apply
the rules (a member on no two overlapping shifts, the required designation) and a change
carries the version its page showed, so one made meanwhile is not overwritten unseen.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from config import converters  # noqa: F401 - registers <id:>
from config.forms import DateTimeLocalInput, show_service_errors
from portal.records import offer_members
from rbac.fields import withheld_for_request
from rbac.permissions import requires
from tenants.models import Membership
from workforce import people, selectors, services
from workforce.models import MONEY, Shift

# Every shift has both; a member who may not set one cannot schedule.
RATES = ("bill_rate", "pay_rate")
# What a form sets: a shift's recorded fields, but its department, which follows its site.
SHIFT_CHANGES = tuple(name for name in services.SHIFT_FIELDS if name != "department")


def _money(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=0,
        max_digits=MONEY["max_digits"],
        decimal_places=MONEY["decimal_places"],
    )


class ShiftForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None, empty_label=None)
    starts_at = forms.DateTimeField(
        label=f"Starts ({settings.TIME_ZONE})", widget=DateTimeLocalInput()
    )
    ends_at = forms.DateTimeField(label=f"Ends ({settings.TIME_ZONE})", widget=DateTimeLocalInput())
    member = forms.ModelChoiceField(
        label="Assigned to", queryset=None, required=False, empty_label="Nobody yet (open shift)"
    )
    designation = forms.ModelChoiceField(
        label="Required designation", queryset=None, required=False, empty_label="Any"
    )
    client = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="None (internal work)"
    )
    bill_rate = _money("Bill rate per hour")
    pay_rate = _money("Pay rate per hour")
    internal_notes = forms.CharField(
        label="Internal notes (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The version of the shift the page showed (a change only).
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, data=None, *, membership: Membership, withheld, initial=None):
        super().__init__(data, initial=initial)
        self.fields["site"].queryset = selectors.sites_in_scope(membership, "shift").order_by(
            "name", "id"
        )
        offer_members(self.fields["member"], membership, "shift")
        self.fields["designation"].queryset = people.designations_list()
        self.fields["client"].queryset = selectors.clients_for(withheld)
        for name in withheld:
            self.fields.pop(name, None)
        if initial is None:
            del self.fields["version"]

    def clean(self):
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "A shift must end after it starts.")
        return data

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in SHIFT_CHANGES if name in self.fields}


def _cannot_set_rates(request) -> bool:
    return bool(set(RATES) & withheld_for_request(request))


def _form_page(request, *, form: ShiftForm | None, shift: Shift | None):
    return render(
        request,
        "portal/shift_form.html",
        {"organization": request.organization, "form": form, "shift": shift},
        status=400 if form is not None and form.errors else 200,
    )


@requires("shift.create")
@require_http_methods(["GET", "POST"])
@login_required
def shift_new(request, org_slug: str):
    if _cannot_set_rates(request):
        return _form_page(request, form=None, shift=None)
    form = ShiftForm(
        request.POST if request.method == "POST" else None,
        membership=request.membership,
        withheld=withheld_for_request(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            shift = services.shift_create(**form.changes())
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            messages.success(
                request, f"The shift at {shift.site.name} on {shift.starts_at:%d %b %Y} is added."
            )
            return redirect("shift-detail", org_slug=org_slug, record_id=shift.pk)
    return _form_page(request, form=form, shift=None)


@requires("shift.update")
@require_http_methods(["GET", "POST"])
@login_required
def shift_edit(request, org_slug: str, record_id: int):
    withheld = withheld_for_request(request)
    # Z4: a shift outside the member's scope, or of another organisation, is a 404.
    shift = selectors.access_shift(request.membership, withheld, record_id)
    initial = {name: getattr(shift, name) for name in SHIFT_CHANGES if name not in withheld}
    initial["version"] = services.record_version(shift)
    form = ShiftForm(
        request.POST if request.method == "POST" else None,
        membership=request.membership,
        withheld=withheld,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        changes = {
            name: value for name, value in form.changes().items() if value != initial.get(name)
        }
        if not changes:
            messages.info(request, "Nothing was changed.")
            return redirect("shift-detail", org_slug=org_slug, record_id=record_id)
        version = form.cleaned_data["version"]
        try:
            services.shift_update(
                shift=shift, expected_versions=[version] if version else None, **changes
            )
        except services.StaleRecord:
            messages.error(
                request,
                "This shift changed after you opened it. Here it is as it is now; make your "
                "change again.",
            )
            return redirect("shift-edit", org_slug=org_slug, record_id=record_id)
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            messages.success(request, "The shift is changed.")
            return redirect("shift-detail", org_slug=org_slug, record_id=record_id)
    return _form_page(request, form=form, shift=shift)


page_patterns: list = [
    path("shifts/new/", shift_new, name="shift-new"),
    path("shifts/<id:record_id>/edit/", shift_edit, name="shift-edit"),
]
