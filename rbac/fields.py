"""Field separation (Z7): which fields a member may receive, decided once per request from
their role and the site serving it, and applied where data leaves the system (serializers,
exports, HTML pages all render from the same serializers) and in the selectors, which do not
even load or compute a withheld field.

Staff never receive bill rates or margins; clients never receive internal notes, pay rates
or margins. The role decides first (``bill_rate.view``, ``pay_rate.view``, ``margin.view``,
``internal_note.view``); the client portal then withholds pay, margins and notes whatever the
role says, so a custom role given too much still cannot leak them there.

The rules are named after the fields they guard (``FIELD_PERMISSIONS``). A field of another
name that holds the same kind of value is declared by its model: ``guarded_fields =
{"amount": "pay_rate"}`` on ``Timesheet`` (a timesheet's amount is pay), which leaves an
expense's ``amount`` alone. The same rules drop those fields' values from the changes of
audit events read through the API (``withheld_changes``), and only a member who receives every
guarded field may take the whole log out of the system (``ReceivesEveryGuardedField``).
A serializer may also list fields a member still receives on their own rows
(``own_rows_reveal``): a staff member sees what they are paid without seeing anyone else's
pay, and the client portal withholds them regardless.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission

from rbac.access import membership_has
from rbac.denials import access_denied_record

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


def field_rules(model: type[Model] | None) -> dict[str, str]:
    """Field name -> the rule guarding it on records of ``model``: the fields named after
    their rule, and those the model declares in ``guarded_fields``."""
    declared: dict[str, str] = getattr(model, "guarded_fields", {})
    unknown = set(declared.values()) - set(FIELD_PERMISSIONS)
    if unknown:
        raise ImproperlyConfigured(
            f"{model.__name__}.guarded_fields names no rule of rbac.fields: {sorted(unknown)}"
        )
    return {name: name for name in FIELD_PERMISSIONS} | declared


def withheld_for_request(request) -> frozenset[str]:
    cached = getattr(request, "_withheld_fields", None)
    if cached is None:
        cached = withheld_fields(
            getattr(request, "membership", None), client_portal=is_client_portal(request)
        )
        request._withheld_fields = cached
    return cached


def _site_withheld(request) -> frozenset[str]:
    return CLIENT_PORTAL_WITHHELD if is_client_portal(request) else frozenset()


def receives(request, rule: str, *, own_row: bool = False) -> bool:
    """Whether the requester receives a value guarded by ``rule`` outside a serializer (an
    approval's amount). ``own_row``: the value is of the requester's own row, which reveals
    it when only their role, not the site, withholds it."""
    if request is None or rule not in withheld_for_request(request):
        return request is not None
    return own_row and rule not in _site_withheld(request)


def withheld_changes(request, entity_type: str) -> frozenset[str]:
    """The changed fields whose values an audit event about an ``entity_type`` record
    (``app_label.model``) does not show this reader. The raw log is read by auditors, not by
    a record's owner, so no own row reveals anything here."""
    withheld = withheld_for_request(request)
    if not withheld:
        return frozenset()
    try:
        model = apps.get_model(entity_type)
    except (LookupError, ValueError):  # an event about no model (a sign-in, an export)
        model = None
    return frozenset(name for name, rule in field_rules(model).items() if rule in withheld)


class ReceivesEveryGuardedField(BasePermission):
    """For DRF views whose writes send the whole audit log out of the system (an export, a
    new stream sink): events keep every changed value, pay and margins included, and a
    verifiable copy cannot leave any out, so only a member who receives every guarded field
    may ask for one; an admin who may not see pay cannot read it out through the log. A
    refusal is audited like a declared permission's (``access.denied``)."""

    message = (
        "The whole audit log holds pay rates, bill rates, margins and internal notes; taking "
        "it out needs a role that may see all of them."
    )

    def has_permission(self, request, view) -> bool:
        withheld = withheld_for_request(request)
        if request.method in SAFE_METHODS or not withheld:
            return True
        access_denied_record(
            request,
            entity_type="audit_log",
            permission=" and ".join(sorted(FIELD_PERMISSIONS[name] for name in withheld)),
        )
        return False


class FieldSeparationMixin:
    """For DRF serializers: removes the fields the requesting member may not receive, so they
    are absent from the response, not blanked. Needs ``request`` in the context; without
    one every guarded field is withheld (fail closed).

    The guarded fields are the model's (``field_rules``). ``own_rows_reveal`` lists guarded
    fields still sent on rows whose ``member`` is the requester, when only their role (not
    the site) withholds them."""

    own_rows_reveal: frozenset[str] = frozenset()

    def _rules(self) -> dict[str, str]:
        """Serializer field -> the rule guarding it."""
        return field_rules(self.Meta.model)

    def _separation(self) -> tuple[set[str], set[str]]:
        """The fields withheld on every row, and those withheld on other members' rows only."""
        cached = self.__dict__.get("_separated")
        if cached is None:
            cached = self._separated = self._separate()
        return cached

    def _separate(self) -> tuple[set[str], set[str]]:
        request = self.context.get("request")
        if request is None:
            return set(self._rules()), set()
        withheld = withheld_for_request(request)
        by_site = _site_withheld(request)
        everywhere, others_only = set(), set()
        for name, rule in self._rules().items():
            if rule not in withheld:
                continue
            if name in self.own_rows_reveal and rule not in by_site:
                others_only.add(name)
            else:
                everywhere.add(name)
        return everywhere, others_only

    def withheld_somewhere(self) -> set[str]:
        """Fields some row of this request goes without (nobody orders a list by them)."""
        everywhere, others_only = self._separation()
        return everywhere | others_only

    def get_fields(self):
        fields = super().get_fields()
        everywhere, _ = self._separation()
        for name in everywhere:
            fields.pop(name, None)
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        _, others_only = self._separation()
        if others_only:
            membership = getattr(self.context.get("request"), "membership", None)
            if membership is None or getattr(instance, "member_id", None) != membership.pk:
                for name in others_only:
                    data.pop(name, None)
        return data


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
