"""The two steps of signing in (A4-A7), and stepping up to a fresh second factor.

Step 1 checks email and password. For a person with a second factor it does not sign them in:
it records a *pending* sign-in in the (server-side) session and gives the browser a signed,
timestamped cookie naming the same person and a nonce. Step 2 continues only when both agree,
the cookie is younger than ``PALISADE_SIGN_IN_PENDING_SECONDS`` and the person's password has
not changed since step 1. Anything else (expired, tampered or lost state) ends the pending
sign-in, says so, and is an audit event for the person either half still names.

Only when the second factor is verified does ``django.contrib.auth.login`` run: it gives the
session a new key (A7), then django-otp records the device that verified it. A step-up (a
fresh second factor before removing one) rotates the key again.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django_otp import login as otp_login
from django_otp.models import Device

from accounts.models import User
from config.network import client_ip
from tenants.ip_allowlist import sign_in_network_refused

PENDING = "_palisade_sign_in"
SECOND_FACTOR_AT = "_palisade_second_factor_at"
COOKIE = "palisade_sign_in"
COOKIE_PATH = "/accounts/login/"
_COOKIE_SALT = "accounts.sign_in.pending"
# Wrong second factors in one pending sign-in before it is abandoned (each device also backs
# off on its own).
MAX_FAILURES = 5


@dataclass(frozen=True)
class PendingSignIn:
    user: User
    backend: str
    next_url: str


class SignInNetworkRefused(Exception):
    """Every factor passed, but every one of the person's organisations refuses the client's
    network (A12). Nobody was signed in; the refusal is recorded."""


class SignInStateRejected(Exception):
    """The pending sign-in cannot continue. ``user`` is whom the state still named, if any."""

    def __init__(self, reason: str, user: User | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user = user


def pending_start(
    request: HttpRequest, response: HttpResponse, *, user: User, backend: str, next_url: str
) -> None:
    """Step 1 passed for someone with a second factor: remember it, nobody signed in yet."""
    # A new key for the pre-authentication session too, so a key planted before sign-in
    # (session fixation) does not carry the pending state.
    request.session.cycle_key()
    nonce = secrets.token_urlsafe(16)
    request.session[PENDING] = {
        "user": user.pk,
        "backend": backend,
        "next": next_url,
        "started": time.time(),
        "nonce": nonce,
        "auth_hash": user.get_session_auth_hash(),
        "failures": 0,
    }
    response.set_cookie(
        COOKIE,
        signing.dumps({"user": user.pk, "nonce": nonce}, salt=_COOKIE_SALT),
        max_age=settings.PALISADE_SIGN_IN_PENDING_SECONDS,
        path=COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _signed_cookie(request: HttpRequest) -> tuple[dict | None, str | None]:
    raw = request.COOKIES.get(COOKIE)
    if not raw:
        return None, "cookie_missing"
    try:
        value = signing.loads(
            raw, salt=_COOKIE_SALT, max_age=settings.PALISADE_SIGN_IN_PENDING_SECONDS
        )
    except signing.SignatureExpired:
        return None, "expired"
    except signing.BadSignature:
        return None, "tampered"
    if not isinstance(value, dict) or not isinstance(value.get("user"), int):
        return None, "tampered"
    return value, None


def pending_load(request: HttpRequest) -> PendingSignIn:
    """The pending sign-in of this browser, or SignInStateRejected saying why not."""
    state = request.session.get(PENDING)
    cookie, cookie_problem = _signed_cookie(request)
    user_id = state["user"] if state else (cookie["user"] if cookie else None)
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if state is None:
        # No state at all is someone opening step 2 directly; with a valid cookie it is a
        # session that was lost or replaced (a tampered session cookie).
        raise SignInStateRejected("session_lost" if cookie else "missing", user)
    if cookie is None:
        raise SignInStateRejected(cookie_problem, user)
    if cookie["user"] != state["user"] or not constant_time_compare(
        str(cookie.get("nonce", "")), state["nonce"]
    ):
        raise SignInStateRejected("mismatch", user)
    if time.time() - state["started"] > settings.PALISADE_SIGN_IN_PENDING_SECONDS:
        raise SignInStateRejected("expired", user)
    if (
        user is None
        or not user.is_active
        or not constant_time_compare(user.get_session_auth_hash(), state["auth_hash"])
    ):
        raise SignInStateRejected("account_changed", user)
    return PendingSignIn(user=user, backend=state["backend"], next_url=state["next"])


def pending_end(request: HttpRequest, response: HttpResponse) -> None:
    """Forget the pending sign-in: in the session and in the browser."""
    request.session.pop(PENDING, None)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, samesite="Lax")


def pending_failure(request: HttpRequest) -> bool:
    """Counts a wrong second factor; True when the pending sign-in has had too many."""
    state = request.session[PENDING]
    state["failures"] += 1
    request.session.modified = True
    return state["failures"] >= MAX_FAILURES


def sign_in_complete(
    request: HttpRequest, *, user: User, backend: str, device: Device | None
) -> None:
    """Signs the person in (a new session key, A7); with ``device``, marks the session as
    verified by that second factor (django-otp) and as freshly stepped up.

    A12: raises SignInNetworkRefused when the person's organisations all refuse the client's
    address. Checked here, once every factor has passed, so the refusal tells someone who
    only has the password nothing, and no way of signing in can skip it."""
    if sign_in_network_refused(user=user, ip=client_ip(request)):
        raise SignInNetworkRefused
    request.session.pop(PENDING, None)
    if device is not None:
        # django-otp's user_logged_in receiver records the device in the session, and the
        # audit receiver names the method in the sign-in event.
        user.otp_device = device
    auth_login(request, user, backend=backend)
    if device is not None:
        request.session[SECOND_FACTOR_AT] = time.time()


def step_up_complete(request: HttpRequest, device: Device) -> None:
    """A second factor verified again in a signed-in session: a new session key (A7), the
    device recorded, and the time kept for ``recently_verified``."""
    request.session.cycle_key()
    otp_login(request, device)
    request.session[SECOND_FACTOR_AT] = time.time()


def recently_verified(request: HttpRequest) -> bool:
    """Whether this session verified a second factor within ``PALISADE_STEP_UP_SECONDS``."""
    verified_at = request.session.get(SECOND_FACTOR_AT)
    return (
        isinstance(verified_at, float)
        and time.time() - verified_at <= settings.PALISADE_STEP_UP_SECONDS
        and request.user.is_verified()
    )
