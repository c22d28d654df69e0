"""An organisation's public forms (D7): the recruitment application (``/join/<slug>/``) and
the demo request (``/demo/<slug>/``), open to anyone, outside any sign-in.

Bot resistance, cheapest first:
- rate limits per client network under the stricter ``public-form`` policy
  (``ratelimits.policies.ENDPOINT_POLICIES``), before anything is read;
- CSRF, as on every form;
- a honeypot field people never see (hidden from view and from assistive technology, out of
  the tab order) that must stay empty: a bot that fills it is thanked and nothing is stored;
- a time trap: the form carries a signed timestamp of when it was served; a submission
  sooner than ``MIN_SECONDS`` after it (no person fills a form that fast) or later than
  ``MAX_SECONDS`` (a harvested form replayed later), or with a missing or forged stamp, is
  refused and stores nothing.
What passes is validated and stored verbatim as a tenant row of that organisation (rendered
escaped wherever it is shown), through ``public_submission_create``, which records
``public_submission.created`` with an anonymous actor and no personal data in the log.
"""

from __future__ import annotations

import logging
import time

from django import forms
from django.core import signing
from django.core.validators import RegexValidator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from audit.context import Actor, acting_as
from audit.services import audit_event_record
from rbac.permissions import public
from tenants.context import tenant_context
from tenants.models import Organization
from workforce.models import PublicSubmission

logger = logging.getLogger(__name__)

Kind = PublicSubmission.Kind
MIN_SECONDS = 3
MAX_SECONDS = 3600
_STAMP_SALT = "workforce.public.form-served"
HONEYPOT = "website"

TOO_FAST = (
    "That was quicker than we expected from a person. Please check your details and send "
    "the form again."
)
STALE = "This form was open for too long. Please check your details and send it again."
TITLES = {
    Kind.RECRUITMENT: "Apply to work with {name}",
    Kind.DEMO_REQUEST: "Request a demo from {name}",
}


# --- reads -----------------------------------------------------------------------------------


def access_public_organization(slug: str) -> Organization:
    """The organisation whose forms these are: active ones only; unknown, suspended and
    offboarded ones are the same 404."""
    organization = Organization.objects.filter(slug=slug, status=Organization.Status.ACTIVE).first()
    if organization is None:
        raise Http404("No such organisation")
    return organization


# --- the write -------------------------------------------------------------------------------


@transaction.atomic
def public_submission_create(
    *, kind: str, name: str, email: str, phone: str = "", message: str = ""
) -> PublicSubmission:
    """Stores a submission in the current organisation, recorded as done by nobody in
    particular: whoever sent it is not a user of that organisation. The log names the kind
    and the row, never the sender's details (the row holds them; the log is append-only)."""
    submission = PublicSubmission(kind=kind, name=name, email=email, phone=phone, message=message)
    submission.full_clean()
    submission.save()
    with acting_as(Actor(type="anonymous")):
        audit_event_record(
            action="public_submission.created",
            entity=submission,
            changes={"kind": [None, kind]},
        )
    return submission


# --- the form --------------------------------------------------------------------------------


def form_stamp(organization: Organization, kind: str) -> str:
    return signing.dumps({"o": organization.pk, "k": kind, "t": time.time()}, salt=_STAMP_SALT)


def stamp_age(value: str, organization: Organization, kind: str) -> float | None:
    """Seconds since this organisation's ``kind`` form was served; None if forged or not
    ours."""
    try:
        stamp = signing.loads(value, salt=_STAMP_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(stamp, dict) or stamp.get("o") != organization.pk or stamp.get("k") != kind:
        return None
    served = stamp.get("t")
    if not isinstance(served, int | float):
        return None
    return time.time() - served


class PublicSubmissionForm(forms.Form):
    name = forms.CharField(max_length=200, label="Your name")
    email = forms.EmailField(max_length=254, label="Email")
    phone = forms.CharField(
        max_length=40,
        required=False,
        label="Phone (optional)",
        validators=[
            RegexValidator(
                r"^[0-9+()\-. ]*$",
                "Use digits, spaces and + ( ) - . only.",
            )
        ],
    )
    message = forms.CharField(max_length=5000, required=False, widget=forms.Textarea)
    # D7 honeypot: people never see it (templates/public/form.html); it must stay empty.
    website = forms.CharField(required=False, max_length=200)
    served = forms.CharField(widget=forms.HiddenInput, max_length=500)

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["message"].label = (
            "Tell us about your experience (optional)"
            if kind == Kind.RECRUITMENT
            else "What would you like to see? (optional)"
        )

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()


def _form_page(request, organization, kind, form, status=200, error=""):
    context = {
        "organization": organization,
        "kind": kind,
        "form": form,
        "error": error,
        "title": TITLES[kind].format(name=organization.name),
    }
    return render(request, "public/form.html", context, status=status)


def _public_form(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    organization = access_public_organization(org_slug)
    thanks = "public-join-thanks" if kind == Kind.RECRUITMENT else "public-demo-thanks"
    if request.method != "POST":
        form = PublicSubmissionForm(kind=kind, initial={"served": form_stamp(organization, kind)})
        return _form_page(request, organization, kind, form)
    form = PublicSubmissionForm(request.POST, kind=kind)
    if request.POST.get(HONEYPOT):
        # A bot: thanked like anyone (it learns nothing to adapt to), nothing stored.
        logger.info("Public %s form: honeypot filled; discarded", kind)
        return redirect(thanks, org_slug=organization.slug)
    age = stamp_age(request.POST.get("served", ""), organization, kind)
    error = ""
    if age is None or age > MAX_SECONDS:
        error = STALE
    elif age < MIN_SECONDS:
        error = TOO_FAST
    if error or not form.is_valid():
        # A fresh stamp when the old one cannot be used; otherwise the form keeps its own, so
        # correcting a typo does not restart the clock.
        data = request.POST.copy()
        if error:
            data["served"] = form_stamp(organization, kind)
        form = PublicSubmissionForm(data, kind=kind)
        form.is_valid()
        return _form_page(request, organization, kind, form, status=400, error=error)
    data = form.cleaned_data
    with tenant_context(organization):
        public_submission_create(
            kind=kind,
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            message=data["message"],
        )
    return redirect(thanks, org_slug=organization.slug)


@public
@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def recruitment_form(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _public_form(request, org_slug, Kind.RECRUITMENT)


@public
@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def demo_request_form(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _public_form(request, org_slug, Kind.DEMO_REQUEST)


def _thanks(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    organization = access_public_organization(org_slug)
    return render(request, "public/thanks.html", {"organization": organization, "kind": kind})


@public
@require_safe
def recruitment_thanks(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _thanks(request, org_slug, Kind.RECRUITMENT)


@public
@require_safe
def demo_request_thanks(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _thanks(request, org_slug, Kind.DEMO_REQUEST)
