"""Organisation security settings pages: second-factor policy (A4), session timeouts (A9), IP
allowlist (A12) and API tokens (A17).

The pages call the same services as the REST API (``tenants.services``,
``tenants.ip_allowlist``, ``tokens.services.api_tokens``), so the same rules hold here: every
change is one audited transaction, a grace period is extended only with a stated reason, an
allowlist change that would lock out the admin making it is refused, a token's scopes and
expiry are checked against the organisation's limit. The forms only check shape; a service's
refusal is shown next to the field it names (the form fields carry the services' names).

Every button is a plain form POST: success redirects with a message, a refusal re-renders
the page with status 400 (which also rolls the request's transaction back). The one
exception is a new API token, whose secret is in the answer to the POST and nowhere else.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from config import converters  # noqa: F401 - registers <id:>
from config.forms import DateTimeLocalInput
from config.network import client_ip
from portal.records import display
from rbac.access import membership_has
from rbac.permissions import requires
from tenants import ip_allowlist
from tenants.api import IpAllowlistEntrySerializer
from tenants.models import (
    MAX_ABSOLUTE_TIMEOUT_HOURS,
    IpAllowlistEntry,
    SecurityPolicy,
    max_idle_timeout_minutes,
)
from tenants.services import security_policy_update
from tokens.api import ApiTokenSerializer
from tokens.models import ApiToken
from tokens.scopes import SCOPES
from tokens.selectors import access_api_token, api_tokens_visible_to
from tokens.services.api_tokens import api_token_create, api_token_revoke

# The newest tokens; the API pages through all of them.
TOKENS_SHOWN = 100
NEW_TOKEN_DAYS = 30
# A stated reason is recorded in the audit event: a sentence or two, not a document.
MAX_REASON_LENGTH = 1000
STATUS_LABELS = dict(ApiToken.Status.choices)


# --- forms --------------------------------------------------------------------------------


class SecondFactorPolicyForm(forms.Form):
    second_factor_required = forms.ChoiceField(
        label="Second factor required",
        choices=SecurityPolicy.SecondFactorRequirement.choices,
    )
    second_factor_grace_until = forms.DateTimeField(
        label=f"Members without one may still work until (optional, {settings.TIME_ZONE})",
        required=False,
        widget=DateTimeLocalInput(),
    )
    reason = forms.CharField(
        label="Reason (needed to extend a grace period)",
        required=False,
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SessionTimeoutsForm(forms.Form):
    # The bounds are the policy's own (SecurityPolicy.clean); here they label the inputs.
    idle_timeout_minutes = forms.IntegerField(
        label="Idle timeout (minutes)", min_value=1, max_value=max_idle_timeout_minutes()
    )
    absolute_timeout_hours = forms.IntegerField(
        label="Absolute timeout (hours)", min_value=1, max_value=MAX_ABSOLUTE_TIMEOUT_HOURS
    )


def _policy_form(form_class: type[forms.Form], policy: SecurityPolicy, data=None) -> forms.Form:
    initial = {name: getattr(policy, name) for name in form_class.base_fields if name != "reason"}
    return form_class(data, initial=initial)


class AllowlistEntryForm(forms.Form):
    cidr = forms.CharField(
        label="Network (an address, or CIDR such as 203.0.113.0/24)",
        max_length=ip_allowlist.MAX_CIDR_LENGTH,
    )
    label = forms.CharField(
        label="Label (optional, e.g. Head office)",
        max_length=IpAllowlistEntry._meta.get_field("label").max_length,
        required=False,
    )
    confirm_broad = forms.BooleanField(label="Yes, allow this very large network", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Offered only once the parser has called the network very large (A12): a prefix
        # that short is almost always a typo, and a ready-ticked habit would defeat the check.
        if "confirm_broad" not in self.data:
            self._confirm_broad = self.fields.pop("confirm_broad")

    def clean(self):
        data = super().clean()
        if "cidr" in data:
            try:
                ip_allowlist.network_parse(
                    data["cidr"], confirm_broad=data.get("confirm_broad", False)
                )
            except ValidationError as error:
                if error.code == "broad" and "confirm_broad" not in self.fields:
                    self.fields["confirm_broad"] = self._confirm_broad
                self.add_error("cidr", error)
        return data


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name (what the token is for)",
        max_length=ApiToken._meta.get_field("name").max_length,
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        choices=sorted(SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,  # none is the service's refusal, with its message
    )
    expires_at = forms.DateTimeField(
        label=f"Expires at ({settings.TIME_ZONE})", widget=DateTimeLocalInput()
    )

    def __init__(self, *args, max_days: int, **kwargs):
        super().__init__(*args, **kwargs)
        limit = f"At most {max_days} days from now: this organisation's limit."
        self.fields["expires_at"].help_text = limit


# --- the overview -------------------------------------------------------------------------


def _overview(
    request,
    *,
    second_factor: SecondFactorPolicyForm | None = None,
    timeouts: SessionTimeoutsForm | None = None,
    allowlist: AllowlistEntryForm | None = None,
    allowlist_error: str = "",
    status: int = 200,
):
    membership = request.membership
    policy = ip_allowlist.security_policy()
    entries = IpAllowlistEntrySerializer(ip_allowlist.ip_allowlist_entries(), many=True).data
    can_manage = membership_has(membership, "settings.manage")
    context = {
        "organization": request.organization,
        "policy": policy,
        "entries": [
            {
                **entry,
                "created_by": display(entry["created_by"]),
                "added": display(entry["created_at"]),
            }
            for entry in entries
        ],
        "enforced": policy.ip_allowlist_suspended_at is None and bool(entries),
        "your_ip": client_ip(request) or "unknown",
        "can_manage": can_manage,
        "can_manage_sessions": membership_has(membership, "session.manage"),
        "can_use_tokens": membership_has(membership, "api_token.view"),
        "allowlist_error": allowlist_error,
    }
    if can_manage:
        context.update(
            second_factor_form=second_factor or _policy_form(SecondFactorPolicyForm, policy),
            timeouts_form=timeouts or _policy_form(SessionTimeoutsForm, policy),
            allowlist_form=allowlist or AllowlistEntryForm(),
        )
    return render(request, "portal/security/overview.html", context, status=status)


@requires("settings.view")
@require_safe  # changes go to the section's own URL, with its own permission
@login_required
def security_settings(request, org_slug: str):
    return _overview(request)


def _back_to_overview(request):
    return redirect("security-settings", org_slug=request.organization.slug)


def _policy_change(request, form_class: type[forms.Form], form_argument: str, done: str):
    """One of the policy's forms, through ``security_policy_update``: only what the form
    changed is sent, so re-saving an unchanged form records nothing."""
    form = _policy_form(form_class, ip_allowlist.security_policy(), request.POST)
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "reason"}
        if not changes:
            messages.info(request, "Nothing changed.")
            return _back_to_overview(request)
        try:
            security_policy_update(reason=form.cleaned_data.get("reason", ""), **changes)
        except ValidationError as error:
            form.add_error(None, error)  # next to the field it names
        else:
            messages.success(request, done)
            return _back_to_overview(request)
    return _overview(request, status=400, **{form_argument: form})


@requires("settings.manage")
@require_POST
@login_required
def second_factor_policy(request, org_slug: str):
    return _policy_change(
        request, SecondFactorPolicyForm, "second_factor", "The second-factor rule was saved."
    )


@requires("settings.manage")
@require_POST
@login_required
def session_timeouts(request, org_slug: str):
    return _policy_change(
        request,
        SessionTimeoutsForm,
        "timeouts",
        "The session timeouts were saved. They apply from each session's next request.",
    )


@requires("settings.manage")
@require_POST
@login_required
def allowlist_add(request, org_slug: str):
    form = AllowlistEntryForm(request.POST)
    if form.is_valid():
        try:
            entry = ip_allowlist.ip_allowlist_add(
                cidr=form.cleaned_data["cidr"],
                label=form.cleaned_data["label"],
                confirm_broad=form.cleaned_data.get("confirm_broad", False),
                created_by=request.user,
                actor_ip=client_ip(request),
            )
        except ValidationError as error:
            form.add_error(None, error)  # next to the field it names
        else:
            messages.success(request, f"{entry.cidr} was added to the IP allowlist.")
            return _back_to_overview(request)
    return _overview(request, allowlist=form, status=400)


@requires("settings.manage")
@require_POST
@login_required
def allowlist_remove(request, org_slug: str, entry_id: int):
    entry = ip_allowlist.access_ip_allowlist_entry(entry_id)  # 404 outside the organisation
    try:
        ip_allowlist.ip_allowlist_remove(entry=entry, actor_ip=client_ip(request))
    except ValidationError as error:
        return _overview(request, allowlist_error=" ".join(error.messages), status=400)
    messages.success(request, f"{entry.cidr} was removed from the IP allowlist.")
    return _back_to_overview(request)


@requires("settings.manage")
@require_POST
@login_required
def allowlist_resume(request, org_slug: str):
    try:
        ip_allowlist.ip_allowlist_resume(actor_ip=client_ip(request))
    except ValidationError as error:
        return _overview(request, allowlist_error=" ".join(error.messages), status=400)
    messages.success(request, "The IP allowlist is enforced again.")
    return _back_to_overview(request)


# --- API tokens ---------------------------------------------------------------------------


def _token_rows(request) -> list[dict]:
    tokens = api_tokens_visible_to(request.membership)[:TOKENS_SHOWN]
    rows = ApiTokenSerializer(tokens, many=True, context={"now": timezone.now()}).data
    return [
        {
            **row,
            "owner": row["owner"]["email"],
            "status_label": STATUS_LABELS[row["status"]],
            "created": display(row["created_at"]),
            "expires": display(row["expires_at"]),
            "last_used": display(row["last_used_at"]),
        }
        for row in rows
    ]


@requires({"GET": "api_token.view", "POST": "api_token.create"})
@never_cache  # the answer to a create holds the token; no cache may keep it (A17)
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def api_tokens(request, org_slug: str):
    """The member's tokens (every token of the organisation for its owners, as the API's
    inventory) and the form for a new one. The new token is rendered in the answer to the
    POST only: not stored, not in a redirect or a session message, so it is shown once."""
    max_days = ip_allowlist.security_policy().api_token_max_days
    can_create = membership_has(request.membership, "api_token.create")
    form = ApiTokenForm(request.POST, max_days=max_days) if request.method == "POST" else None
    issued = None
    if form is not None and form.is_valid():
        try:
            issued = api_token_create(
                owner=request.user,
                second_factor_verified=request.user.is_verified(),
                **form.cleaned_data,
            )
        except ValidationError as error:
            form.add_error(None, error)  # next to the field it names
    if form is None or issued is not None:
        default_expiry = timezone.localtime() + timedelta(days=NEW_TOKEN_DAYS)
        form = ApiTokenForm(
            initial={"expires_at": default_expiry.replace(second=0, microsecond=0)},
            max_days=max_days,
        )
    return render(
        request,
        "portal/security/api_tokens.html",
        {
            "organization": request.organization,
            "tokens": _token_rows(request),
            "shown": TOKENS_SHOWN,
            "form": form if can_create else None,
            "issued": issued,
            "can_revoke": membership_has(request.membership, "api_token.delete"),
        },
        status=201 if issued else 400 if form.errors else 200,
    )


@requires("api_token.delete")
@require_POST
@login_required
def api_token_revoke_view(request, org_slug: str, token_id: int):
    # Another member's token is a 404, except to the organisation's owners (tokens.selectors).
    api_token = access_api_token(request.membership, token_id)
    api_token_revoke(api_token=api_token, by=request.user)
    messages.success(request, f"The token “{api_token.name}” was revoked.")
    return redirect("security-api-tokens", org_slug=request.organization.slug)


page_patterns: list = [
    path("settings/security/", security_settings, name="security-settings"),
    path(
        "settings/security/second-factor/",
        second_factor_policy,
        name="security-second-factor",
    ),
    path(
        "settings/security/session-timeouts/",
        session_timeouts,
        name="security-session-timeouts",
    ),
    path("settings/security/ip-allowlist/", allowlist_add, name="security-ip-allowlist-add"),
    path(
        "settings/security/ip-allowlist/resume/",
        allowlist_resume,
        name="security-ip-allowlist-resume",
    ),
    path(
        "settings/security/ip-allowlist/<id:entry_id>/remove/",
        allowlist_remove,
        name="security-ip-allowlist-remove",
    ),
    path("settings/api-tokens/", api_tokens, name="security-api-tokens"),
    path(
        "settings/api-tokens/<id:token_id>/revoke/",
        api_token_revoke_view,
        name="security-api-token-revoke",
    ),
]
