"""How long a session may live (A9): an idle and an absolute limit.

Inside an organisation (``/o/<slug>/``, ``/api/v1/o/<slug>/``) its security policy sets them;
elsewhere the platform's settings do (the same defaults). The times a check needs live in the
session's own data, which every request loads anyway, so the check itself costs no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from accounts.models import UserSession
from tenants.models import Membership

SIGNED_IN_AT = "_palisade_signed_in_at"
LAST_SEEN_AT = "_palisade_last_seen_at"
# last-seen is written at most this often, so an active session costs one write a minute.
TOUCH_SECONDS = 60


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def platform(cls) -> SessionLimits:
        return cls(
            idle=timedelta(minutes=settings.PALISADE_SESSION_IDLE_TIMEOUT_MINUTES),
            absolute=timedelta(hours=settings.PALISADE_SESSION_ABSOLUTE_TIMEOUT_HOURS),
        )

    @classmethod
    def of_membership(cls, membership: Membership) -> SessionLimits:
        """The organisation's limits, which ``tenants.selectors.active_membership`` loads
        with the membership from its security policy."""
        return cls(
            idle=timedelta(minutes=membership.idle_timeout_minutes),
            absolute=timedelta(hours=membership.absolute_timeout_hours),
        )

    @property
    def touch_interval(self) -> timedelta:
        """How stale last-seen may get: a session ends between ``idle`` and ``idle`` plus
        this after its last request, never before (a tenth of short idle limits)."""
        return min(timedelta(seconds=TOUCH_SECONDS), self.idle / 10)


def mark_signed_in(session: SessionBase, now: datetime) -> None:
    session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = now.timestamp()


def expiry_reason(
    session: SessionBase, limits: SessionLimits, now: datetime
) -> UserSession.EndReason | None:
    """Why this signed-in session must end now, if it must. A session that never went
    through sign-in bookkeeping has no times and ends (fail closed)."""
    signed_in_at, last_seen_at = session.get(SIGNED_IN_AT), session.get(LAST_SEEN_AT)
    if signed_in_at is None or last_seen_at is None:
        return UserSession.EndReason.NO_LONGER_VALID
    moment = now.timestamp()
    if moment - signed_in_at > limits.absolute.total_seconds():
        return UserSession.EndReason.ABSOLUTE_TIMEOUT
    idle_allowance = limits.idle + limits.touch_interval
    if moment - last_seen_at > idle_allowance.total_seconds():
        return UserSession.EndReason.IDLE_TIMEOUT
    return None


def needs_touch(session: SessionBase, limits: SessionLimits, now: datetime) -> bool:
    last_seen_at = session.get(LAST_SEEN_AT)
    return (
        last_seen_at is not None
        and now.timestamp() - last_seen_at >= limits.touch_interval.total_seconds()
    )
