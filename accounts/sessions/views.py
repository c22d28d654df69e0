"""Session pages of the web portal (A10). Who may use each is declared on it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import UserSession
from accounts.sessions import services
from accounts.sessions.selectors import access_own_session, open_sessions_of
from accounts.sessions.store import RECORD_ID
from rbac.permissions import requires, signed_in_only


@signed_in_only
@login_required  # any signed-in user; only their own sessions
def session_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "account/sessions.html",
        {
            "sessions": open_sessions_of(request.user),
            "current_id": request.session.get(RECORD_ID),
        },
    )


@signed_in_only
@require_POST
@login_required  # any signed-in user; another user's session is a 404
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    record = access_own_session(request.user, session_id)
    if record.pk == request.session.get(RECORD_ID):
        logout(request)  # ending this session is signing out
        return redirect("login")
    services.user_session_end(record=record)
    messages.success(request, f"The session on {record.device} has ended.")
    return redirect("account-sessions")


@signed_in_only
@require_POST
@login_required  # any signed-in user; only their own sessions
def session_end_others(request: HttpRequest) -> HttpResponse:
    ended = services.user_sessions_revoke(
        user=request.user, reason=UserSession.EndReason.ENDED_BY_USER, keep_current=True
    )
    messages.success(request, f"Ended {ended} other session{'s' if ended != 1 else ''}.")
    return redirect("account-sessions")


@requires("session.manage")  # the organisation's owners and admins
def organization_sessions(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Sign every member of the organisation out of every session (A10)."""
    if request.method == "POST":
        ended = services.organization_sign_everyone_out()
        messages.success(
            request,
            f"Everyone was signed out of {request.organization.name}: "
            f"{ended} session{'s' if ended != 1 else ''} ended. You stay signed in here.",
        )
        return redirect("organization-sessions", org_slug=org_slug)
    return render(request, "organization/sessions.html", {"organization": request.organization})
