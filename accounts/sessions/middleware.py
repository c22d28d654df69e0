"""Per-request session checks (A9, A10), in two places of the middleware chain.

``SessionLifetimeMiddleware`` runs after authentication and before the tenant middleware:
- a cookie that brings no signed-in session (unknown, tampered, expired, ended or revoked)
  makes the request anonymous with a clear message (an API request gets a 401 saying why);
  when the cookie names a session that has ended, the refusal is an audit event;
- outside organisations it applies the platform's idle and absolute limits;
- it ends sessions that a limit ended, outside any tenant transaction, so the end is
  recorded even when the response is an error that rolls the tenant transaction back.
``OrganizationSessionPolicyMiddleware`` runs inside the tenant context and applies the
organisation's own limits, which the tenant middleware's membership query already carries.

Revocation needs nothing here: it raises the user's session generation and deletes the
server-side sessions, so Django's own session load and auth-hash check refuse them. Neither
check uses Redis, so a Redis outage can neither let a revoked session through nor take
sign-in down.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from accounts.models import UserSession
from accounts.sessions import services
from accounts.sessions.lifetime import SessionLimits, expiry_reason, needs_touch
from accounts.sessions.selectors import session_record_for_key, session_record_of
from audit.context import Actor, Origin, acting_as
from config.network import client_ip
from tenants.middleware import ORG_PATH

logger = logging.getLogger(__name__)

SESSION_POLICY_ACTOR = Actor(type="system", label="session policy")
ANONYMOUS = Actor(type="anonymous")
UNKNOWN_SESSION_NOTICE = "Your session is not valid or has expired."
EndReason = UserSession.EndReason


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _origin(request: HttpRequest) -> Origin:
    return Origin(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))


def _notice(reason: str) -> str:
    return f"{reason} Please sign in again."


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        presented_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if presented_key and not request.user.is_authenticated:
            refusal = self._refuse(request, presented_key)
            if refusal is not None:
                return refusal
        elif request.user.is_authenticated and not ORG_PATH.match(request.path_info):
            reason = expiry_reason(request.session, SessionLimits.platform(), timezone.now())
            if reason is not None:
                return self._end(request, reason)

        with services.serving(request):
            response = self.get_response(request)

        # Set by OrganizationSessionPolicyMiddleware: the organisation's limits ended it.
        reason = getattr(request, "session_end_reason", None)
        if reason is not None:
            return self._end(request, reason)
        limits = getattr(request, "session_limits", None) or SessionLimits.platform()
        if (
            request.user.is_authenticated
            and SESSION_KEY in request.session
            and needs_touch(request.session, limits, timezone.now())
        ):
            services.session_touch(request=request)
        return response

    def _refuse(self, request: HttpRequest, presented_key: str) -> HttpResponse | None:
        """The cookie brings no signed-in session. Tell the person why, once: the session
        cookie is deleted with this response."""
        session = request.session
        if session.session_key is not None and SESSION_KEY not in session:
            return None  # a live anonymous session
        record = session_record_for_key(presented_key)
        if session.session_key is not None or (record is not None and record.is_open):
            # The session exists but Django refused its user (deactivated, password
            # changed elsewhere): end it properly.
            reason = (
                EndReason.DEACTIVATED
                if record is not None and not record.user.is_active
                else EndReason.NO_LONGER_VALID
            )
            with acting_as(SESSION_POLICY_ACTOR, _origin(request)):
                services.session_end(request=request, record=record, reason=reason)
            notice = _notice(reason.label)
        elif record is not None:
            with acting_as(ANONYMOUS, _origin(request)):
                services.session_refused(record=record)
            notice = _notice(EndReason(record.end_reason).label)
        else:
            logger.info("Unknown session cookie from %s", client_ip(request))
            notice = _notice(UNKNOWN_SESSION_NOTICE)
        if _is_api(request):
            return JsonResponse({"detail": notice, "code": "session_ended"}, status=401)
        messages.warning(request, notice)
        return None

    def _end(self, request: HttpRequest, reason: EndReason) -> HttpResponse:
        record = session_record_of(request.session)
        with acting_as(SESSION_POLICY_ACTOR, _origin(request)):
            services.session_end(request=request, record=record, reason=reason)
        request.user = AnonymousUser()
        notice = _notice(reason.label)
        if _is_api(request):
            return JsonResponse({"detail": notice, "code": "session_ended"}, status=401)
        messages.warning(request, notice)
        return redirect_to_login(request.get_full_path())


class OrganizationSessionPolicyMiddleware:
    """Inside the tenant context: the organisation's idle and absolute limits (A9). It only
    decides; ``SessionLifetimeMiddleware`` ends the session outside the tenant transaction."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = getattr(request, "membership", None)
        # A bearer request (A8, A17, tokens.bearer) has no session to limit: its credential
        # carries its own lifetime.
        if membership is None or getattr(request, "bearer", None) is not None:
            return self.get_response(request)
        request.session_limits = SessionLimits.of_membership(membership)
        reason = expiry_reason(request.session, request.session_limits, timezone.now())
        if reason is not None:
            request.session_end_reason = reason
            return HttpResponse(status=401)
        return self.get_response(request)
