"""Reads of session records (A10): only ever a user's own."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User, UserSession
from accounts.sessions.store import RECORD_ID, SessionStore, key_digest


def open_sessions_of(user: User) -> QuerySet[UserSession]:
    """The user's sessions that can still be used: not ended, and their server-side session
    still there (a session nobody came back to lapses without a request to notice it)."""
    live = SessionStore.get_model_class().objects.filter(expire_date__gt=timezone.now())
    return UserSession.objects.filter(
        user=user,
        ended_at__isnull=True,
        session_key_digest__in=live.values("session_key"),
    ).order_by("-last_seen_at", "-pk")


def access_own_session(user: User, session_id: int) -> UserSession:
    """One of the user's open sessions, or 404 (another user's is indistinguishable from a
    missing one)."""
    return get_object_or_404(open_sessions_of(user), pk=session_id)


def session_record_for_key(session_key: str) -> UserSession | None:
    return (
        UserSession.objects.select_related("user")
        .filter(session_key_digest=key_digest(session_key))
        .first()
    )


def session_record_of(session: SessionBase) -> UserSession | None:
    record_id = session.get(RECORD_ID)
    if record_id is None:
        return None
    return UserSession.objects.select_related("user").filter(pk=record_id).first()
