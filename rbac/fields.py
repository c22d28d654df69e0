"""Field separation (Z7): which fields a member may receive, decided once per request from
their role and the site serving it, and applied where data leaves the system (serializers,
exports, HTML pages all render from the same serializers) and in the selectors, which do not
even load or compute a withheld field.

Staff never receive bill rates or margins; clients never receive internal notes, pay rates
or margins. The role decides first (``bill_rate.view``, ``pay_rate.view``, ``margin.view``,
``internal_note.view``); the client portal then withholds pay, margins and notes whatever the
role says, so a custom role given too much still cannot leak them there.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ValidationError

from rbac.access import membership_has

# Field name (as models and serializers spell it) -> the permission needed to receive it.
FIELD_PERMISSIONS: dict[str, str] = {
    "bill_rate": "bill_rate.view",
    "pay_rate": "pay_rate.view",
    "margin": "margin.view",
    "internal_notes": "internal_note.view",
}
CLIENT_PORTAL_WITHHELD = frozenset({"pay_rate", "margin", "internal_notes"})


def is_client_portal(request) -> bool:
    return getattr(request, "urlconf", None) == settings.CLIENT_PORTAL_URLCONF


def withheld_fields(membership, *, client_portal: bool) -> frozenset[str]:
    """The guarded fields this member may not receive on this site."""
    withheld = {
        name
        for name, required in FIELD_PERMISSIONS.items()
        if membership is None or not membership_has(membership, required)
    }
    if client_portal:
        withheld |= CLIENT_PORTAL_WITHHELD
    return frozenset(withheld)


def withheld_for_request(request) -> frozenset[str]:
    cached = getattr(request, "_withheld_fields", None)
    if cached is None:
        cached = withheld_fields(
            getattr(request, "membership", None), client_portal=is_client_portal(request)
        )
        request._withheld_fields = cached
    return cached


class FieldSeparationMixin:
    """For DRF serializers: removes the fields the requesting member may not receive, so they
    are absent from the response, not blanked. Needs ``request`` in the context; without
    one every guarded field is withheld (fail closed)."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        withheld = withheld_for_request(request) if request is not None else FIELD_PERMISSIONS
        for name in withheld:
            fields.pop(name, None)
        return fields


class FieldSeparationInputMixin:
    """For DRF input serializers: nobody sets a guarded field they may not receive (a custom
    role that creates shifts without seeing pay cannot set a pay rate either); such a field in
    the body is a 400 naming it, not silently ignored."""

    def to_internal_value(self, data):
        request = self.context.get("request")
        withheld = withheld_for_request(request) if request is not None else FIELD_PERMISSIONS
        refused = sorted(name for name in withheld if name in self.fields and name in data)
        if refused:
            raise ValidationError({name: ["You may not set this field."] for name in refused})
        return super().to_internal_value(data)
