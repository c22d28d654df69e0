"""Self-service second factors under ``/account/security/`` (A3-A6).

Adding or replacing a factor needs a session verified by a second factor whenever the person
has one (sign-in always verifies them; this covers a factor enrolled from another session
since). Removing one needs a second factor verified within ``PALISADE_STEP_UP_SECONDS``
(``step_up``), so a session left open, or stolen, cannot quietly turn protection off.
Enrolling proves possession of the new factor, so it also counts as a step-up.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import sign_in
from accounts.models import User
from accounts.second_factors import codes, passkeys
from accounts.second_factors.selectors import (
    METHOD_LABELS,
    METHOD_MODELS,
    Method,
    has_second_factor,
    methods_for,
    pending_device,
    security_overview,
)
from accounts.second_factors.services import (
    STEP_UP,
    CodeRefused,
    Enrolled,
    email_otp_enrolment_confirm,
    email_otp_enrolment_start,
    passkey_register,
    recovery_codes_regenerate,
    second_factor_remove,
    step_up_record,
    totp_enrolment_confirm,
    totp_enrolment_start,
)
from accounts.second_factors.verification import (
    MAX_CODE_LENGTH,
    attempt_from_post,
    masked_email,
    passkey_attempt,
    passkey_options_response,
    posted_json,
)
from rbac.permissions import signed_in_only

TOTP_ISSUER = "Palisade"


def _step_up_url(next_url: str) -> str:
    return f"{reverse('security-step-up')}?{urlencode({'next': next_url})}"


def _refuse_json(message: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": message, "code": code}, status=403)


def verified_session_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if has_second_factor(request.user) and not request.user.is_verified():
            if request.content_type == "application/json":
                return _refuse_json("Verify a second factor first.", "step_up_required")
            return redirect(_step_up_url(request.get_full_path()))
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapper))


def recent_second_factor_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not sign_in.recently_verified(request):
            messages.info(request, "To remove a second factor, verify one again first.")
            # Back to the overview afterwards: the removal itself is a POST to repeat.
            return redirect(_step_up_url(reverse("security")))
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapper))


def _enrolled(request: HttpRequest, enrolled: Enrolled, label: str) -> HttpResponse:
    # Proving possession of the new factor verifies this session with it (a new key, A7).
    sign_in.step_up_complete(request, enrolled.device)
    if enrolled.recovery_codes:
        return _show_recovery_codes(request, enrolled.recovery_codes, first=True)
    messages.success(request, f"{label} is set up.")
    return redirect("security")


def _show_recovery_codes(request: HttpRequest, new_codes: list[str], *, first: bool):
    """The only time the codes are ever shown: they are stored as digests (A5)."""
    return render(
        request,
        "account/recovery_codes.html",
        {"codes": [codes.recovery_code_display(code) for code in new_codes], "first": first},
    )


@signed_in_only
@login_required
@never_cache
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "account/security.html", {"overview": security_overview(request.user)})


def _qr_svg(uri: str) -> str:
    # Generated here from our own URI (no third-party service sees the secret, and no
    # script runs); segno's markup has no attributes that carry user input.
    return mark_safe(segno.make(uri, error="m").svg_inline(scale=4, title="QR code"))  # noqa: S308


@signed_in_only
@sensitive_post_parameters()
@verified_session_required
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Authenticator app (A4): scan the QR code (or type the key), then enter a first code."""
    user: User = request.user
    error, status = "", 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "start":
                totp_enrolment_start(user=user)
                return redirect("security-totp")
            enrolled = totp_enrolment_confirm(
                user=user, code=request.POST.get("code", "")[:MAX_CODE_LENGTH]
            )
        except (CodeRefused, ValidationError) as refused:
            error, status = " ".join(getattr(refused, "messages", [str(refused)])), 400
        else:
            return _enrolled(request, enrolled, METHOD_LABELS[Method.TOTP])
    device = pending_device(user, Method.TOTP)
    context = {"pending": device is not None, "error": error}
    key = device.key_bytes() if device is not None else None
    if key is not None:
        uri = codes.provisioning_uri(key, account=user.email, issuer=TOTP_ISSUER)
        secret = codes.totp_key_base32(key)
        context.update(
            qr_svg=_qr_svg(uri),
            provisioning_uri=uri,
            manual_key=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        )
    return render(request, "account/totp_setup.html", context, status=status)


@signed_in_only
@sensitive_post_parameters()
@verified_session_required
def email_setup(request: HttpRequest) -> HttpResponse:
    """Email codes (A3): a code to the person's address; entering it turns them on."""
    user: User = request.user
    error, notice, status = "", "", 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "start":
                email_otp_enrolment_start(user=user)
                notice = f"We sent a code to {masked_email(user.email)}."
            else:
                enrolled = email_otp_enrolment_confirm(
                    user=user, code=request.POST.get("code", "")[:MAX_CODE_LENGTH]
                )
                return _enrolled(request, enrolled, METHOD_LABELS[Method.EMAIL])
        except (CodeRefused, ValidationError) as refused:
            error, status = " ".join(getattr(refused, "messages", [str(refused)])), 400
    context = {
        "pending": pending_device(user, Method.EMAIL) is not None,
        "email": masked_email(user.email),
        "error": error,
        "notice": notice,
    }
    return render(request, "account/email_setup.html", context, status=status)


@signed_in_only
@verified_session_required
def passkey_setup(request: HttpRequest) -> HttpResponse:
    return render(request, "account/passkeys.html", {"overview": security_overview(request.user)})


@signed_in_only
@require_POST
@verified_session_required
def passkey_registration_options(request: HttpRequest) -> HttpResponse:
    return JsonResponse(passkeys.registration_options(request, request.user))


@signed_in_only
@require_POST
@verified_session_required
def passkey_registration_complete(request: HttpRequest) -> HttpResponse:
    body = posted_json(request)
    body = body if isinstance(body, dict) else {}
    try:
        enrolled = passkey_register(
            request=request,
            user=request.user,
            answer=body.get("credential"),
            name=str(body.get("name", "")),
        )
    except passkeys.PasskeyRefused as refused:
        return JsonResponse(
            {"detail": "The passkey could not be registered. Try again.", "code": refused.reason},
            status=400,
        )
    sign_in.step_up_complete(request, enrolled.device)
    data: dict = {"redirect": reverse("security")}
    if enrolled.recovery_codes:
        data["recovery_codes"] = [codes.recovery_code_display(c) for c in enrolled.recovery_codes]
    else:
        messages.success(request, "Your passkey is set up.")
    return JsonResponse(data)


@signed_in_only
@require_POST
@verified_session_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes (A5); the old ones stop working."""
    try:
        new_codes = recovery_codes_regenerate(user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("security")
    return _show_recovery_codes(request, new_codes, first=False)


@signed_in_only
@require_POST
@recent_second_factor_required
def second_factor_removal(request: HttpRequest, method: str, device_id: int) -> HttpResponse:
    try:
        model = METHOD_MODELS[Method(method)]
    except ValueError as error:
        raise Http404 from error
    device = model.objects.filter(user=request.user, pk=device_id, confirmed=True).first()
    if device is None:
        raise Http404
    second_factor_remove(user=request.user, device=device)
    messages.success(request, f"{METHOD_LABELS[Method(method)]} removed.")
    return redirect("security")


def _after_step_up(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return reverse("security")


@signed_in_only
@sensitive_post_parameters()
@login_required
@never_cache
def step_up(request: HttpRequest) -> HttpResponse:
    """Verify a second factor again, in a signed-in session (A4, A7)."""
    user: User = request.user
    methods = methods_for(user)
    if not methods:
        return redirect("security")
    next_url = _after_step_up(request)
    context = {
        "methods": methods,
        "email": masked_email(user.email),
        "purpose": STEP_UP,
        "next": next_url,
        "next_query": urlencode({"next": next_url}),
    }
    status = 200
    if request.method == "POST":
        attempt = attempt_from_post(request, user, methods, STEP_UP)
        if attempt.device is not None:
            sign_in.step_up_complete(request, attempt.device)
            step_up_record(user=user, device=attempt.device)
            return redirect(_after_step_up(request))
        context.update(error=attempt.error, notice=attempt.notice)
        status = 400 if attempt.error else 200
    return render(request, "registration/second_factor.html", context, status=status)


@signed_in_only
@require_POST
@login_required
@never_cache
def step_up_passkey_options(request: HttpRequest) -> HttpResponse:
    return passkey_options_response(request, request.user)


@signed_in_only
@require_POST
@login_required
@never_cache
def step_up_passkey_verify(request: HttpRequest) -> HttpResponse:
    outcome = passkey_attempt(request, request.user, STEP_UP)
    if isinstance(outcome, JsonResponse):
        return outcome
    sign_in.step_up_complete(request, outcome)
    step_up_record(user=request.user, device=outcome)
    return JsonResponse({"redirect": _after_step_up(request)})
