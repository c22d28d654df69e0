"""Signing in (A1, A4-A7): email and password, then a second factor for those who have one.

Unknown email, wrong password and inactive account give the same page and message: Django's
``ModelBackend`` runs the password hasher for unknown emails too, so their timing matches (a
test measures it). Which second factors a person has is shown only after their password.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import sign_in
from accounts.second_factors.selectors import has_second_factor, methods_for
from accounts.second_factors.services import SIGN_IN, sign_in_state_rejected_record
from accounts.second_factors.verification import (
    attempt_from_post,
    masked_email,
    passkey_attempt,
    passkey_options_response,
)
from rbac.permissions import public
from tenants.ip_allowlist import SIGN_IN_REFUSED

STATE_REJECTED = (
    "Your sign-in could not be continued: it expired or was interrupted. Please sign in again."
)
TOO_MANY_FAILURES = "Too many attempts. Please sign in again."


def safe_next_url(request: HttpRequest) -> str:
    """The ``next`` the sign-in form carries, if it stays on this host; shared by every
    site's sign-in."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if allowed else ""


def _landing(next_url: str) -> str:
    return next_url or resolve_url(settings.LOGIN_REDIRECT_URL)


@public
@sensitive_post_parameters()
@never_cache
def sign_in_password(request: HttpRequest) -> HttpResponse:
    """Step 1."""
    next_url = safe_next_url(request)
    if request.user.is_authenticated:
        return redirect(_landing(next_url))
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        user = form.get_user()
        if has_second_factor(user):
            response = redirect("sign-in-second-factor")
            sign_in.pending_start(
                request, response, user=user, backend=user.backend, next_url=next_url
            )
            return response
        try:
            sign_in.sign_in_complete(request, user=user, backend=user.backend, device=None)
        except sign_in.SignInNetworkRefused:
            return _network_refused(request)
        return redirect(_landing(next_url))
    # 200 with the form again, as Django's LoginView answers (the portal's contract).
    return render(request, "registration/login.html", {"form": form, "next": next_url})


def _rejected(
    request: HttpRequest,
    rejected: sign_in.SignInStateRejected,
    message: str = STATE_REJECTED,
    *,
    as_json: bool = False,
) -> HttpResponse:
    """Back to step 1, with nothing of the pending sign-in left behind (A7)."""
    if rejected.user is not None:
        sign_in_state_rejected_record(user=rejected.user, reason=rejected.reason)
    if as_json:
        response = JsonResponse(
            {"detail": message, "code": rejected.reason, "redirect": resolve_url("login")},
            status=400,
        )
    else:
        messages.error(request, message)
        response = redirect("login")
    sign_in.pending_end(request, response)
    return response


def _network_refused(request: HttpRequest, *, as_json: bool = False) -> HttpResponse:
    """Back to step 1, nobody signed in and no pending sign-in left (A12)."""
    if as_json:
        response = JsonResponse(
            {
                "detail": SIGN_IN_REFUSED,
                "code": "network_refused",
                "redirect": resolve_url("login"),
            },
            status=403,
        )
    else:
        messages.error(request, SIGN_IN_REFUSED)
        response = redirect("login")
    sign_in.pending_end(request, response)
    return response


def _signed_in(request: HttpRequest, pending: sign_in.PendingSignIn, device, response):
    try:
        sign_in.sign_in_complete(request, user=pending.user, backend=pending.backend, device=device)
    except sign_in.SignInNetworkRefused:
        return _network_refused(request, as_json=isinstance(response, JsonResponse))
    sign_in.pending_end(request, response)
    return response


@public
@sensitive_post_parameters()
@never_cache
def sign_in_second_factor(request: HttpRequest) -> HttpResponse:
    """Step 2: a code (authenticator app, email, recovery code) or a passkey."""
    try:
        pending = sign_in.pending_load(request)
    except sign_in.SignInStateRejected as rejected:
        return _rejected(request, rejected)
    methods = methods_for(pending.user)
    context = {"methods": methods, "email": masked_email(pending.user.email), "purpose": SIGN_IN}
    status = 200
    if request.method == "POST":
        attempt = attempt_from_post(request, pending.user, methods, SIGN_IN)
        if attempt.device is not None:
            return _signed_in(
                request, pending, attempt.device, redirect(_landing(pending.next_url))
            )
        if attempt.refused and sign_in.pending_failure(request):
            too_many = sign_in.SignInStateRejected("too_many_failures", pending.user)
            return _rejected(request, too_many, TOO_MANY_FAILURES)
        context.update(error=attempt.error, notice=attempt.notice)
        status = 400 if attempt.error else 200
    return render(request, "registration/second_factor.html", context, status=status)


@public
@require_POST
@never_cache
def sign_in_passkey_options(request: HttpRequest) -> HttpResponse:
    try:
        pending = sign_in.pending_load(request)
    except sign_in.SignInStateRejected as rejected:
        return _rejected(request, rejected, as_json=True)
    return passkey_options_response(request, pending.user)


@public
@require_POST
@never_cache
def sign_in_passkey_verify(request: HttpRequest) -> HttpResponse:
    try:
        pending = sign_in.pending_load(request)
    except sign_in.SignInStateRejected as rejected:
        return _rejected(request, rejected, as_json=True)
    outcome = passkey_attempt(request, pending.user, SIGN_IN)
    if isinstance(outcome, JsonResponse):
        if sign_in.pending_failure(request):
            too_many = sign_in.SignInStateRejected("too_many_failures", pending.user)
            return _rejected(request, too_many, TOO_MANY_FAILURES, as_json=True)
        return outcome
    response = JsonResponse({"redirect": _landing(pending.next_url)})
    return _signed_in(request, pending, outcome, response)
