"""Starting, ending and revoking sessions (A7, A9, A10).

Every end and every revocation is an audit event: in the organisation where it happened, or,
outside any organisation, in each organisation the user belongs to (as sign-in is).

A revocation raises the users' ``session_generation`` (so no session signed in before it
authenticates again, even one this code never saw) and ends their UserSession rows together
with the server-side sessions behind them. It takes effect when its transaction commits: the
next request of any of those sessions, in any process, finds no session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.contrib.auth import HASH_SESSION_KEY
from django.db import models, transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ua_parser import parse as parse_user_agent

from accounts.models import User, UserSession
from accounts.sessions.lifetime import LAST_SEEN_AT, mark_signed_in
from accounts.sessions.store import RECORD_ID, SessionStore, key_digest
from audit.context import current_actor
from audit.services import Changes, audit_event_record, record_in_each_organisation
from config.network import client_ip
from tenants.context import current_organization_id, has_tenant_context
from tenants.selectors import member_user_ids

EndReason = UserSession.EndReason
# A key rotation replaces the server-side row for a moment; only a row missing for longer than
# this, in a session not seen for as long, means the session lapsed.
LAPSED_AFTER = timedelta(minutes=10)

# The request being served, so a revocation can keep the session that asked for it.
_current_request: ContextVar[HttpRequest | None] = ContextVar(
    "palisade_session_request", default=None
)


@contextmanager
def serving(request: HttpRequest) -> Iterator[None]:
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def device_label(user_agent: str) -> str:
    """What "Your sessions" calls the device: "Firefox 128 on Ubuntu"."""
    parsed = parse_user_agent(user_agent) if user_agent else None
    if parsed is None or parsed.user_agent is None:
        return "Unknown device"
    browser = " ".join(filter(None, [parsed.user_agent.family, parsed.user_agent.major]))
    if parsed.os is None or parsed.os.family == "Other":
        return browser[:120]
    return f"{browser} on {parsed.os.family}"[:120]


def session_start(*, request: HttpRequest, user: User) -> UserSession:
    """Bookkeeping for a sign-in (``user_logged_in``): Django's ``login()`` has already given
    the session a new key (A7). Signing in again in the same session refreshes its row."""
    session = request.session
    if session.session_key is None:
        # login() after a flush leaves the new key to the response; the row needs it now.
        session.save()
    now = timezone.now()
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:512]
    record_id = session.get(RECORD_ID)
    record = (
        UserSession.objects.filter(pk=record_id, user=user, ended_at__isnull=True).first()
        if record_id is not None
        else None
    ) or UserSession(user=user, session_key_digest=key_digest(session.session_key))
    record.signed_in_at = record.last_seen_at = now
    record.ip = client_ip(request)
    record.user_agent = user_agent
    record.device = device_label(user_agent)
    record.save()
    session[RECORD_ID] = record.pk
    mark_signed_in(session, now)
    return record


def session_signed_out(*, request: HttpRequest) -> None:
    """``user_logged_out`` (auth.signed_out is already an audit event)."""
    record_id = request.session.get(RECORD_ID)
    if record_id is not None:
        _end(UserSession.objects.filter(pk=record_id), EndReason.SIGNED_OUT)


def session_touch(*, request: HttpRequest) -> None:
    """Last seen, at most once a minute (the session's own copy is saved with it)."""
    now = timezone.now()
    request.session[LAST_SEEN_AT] = now.timestamp()
    UserSession.objects.filter(pk=request.session.get(RECORD_ID)).update(
        last_seen_at=now, ip=client_ip(request)
    )


@transaction.atomic
def session_end(*, request: HttpRequest, record: UserSession | None, reason: EndReason) -> None:
    """Ends the session of this request, whose row is ``record`` (idle or absolute timeout,
    or a session that no longer authenticates); the request goes on anonymous."""
    request.session.flush()
    if record is None:
        return
    _end(UserSession.objects.filter(pk=record.pk), reason)
    expired = reason in (EndReason.IDLE_TIMEOUT, EndReason.ABSOLUTE_TIMEOUT)
    _record_for_user(
        record.user,
        "session.expired" if expired else "session.ended",
        entity=record,
        changes={"reason": [None, reason.value]},
    )


@transaction.atomic
def user_session_end(*, record: UserSession) -> None:
    """The owner ends one of their other sessions (from "Your sessions")."""
    _end(UserSession.objects.filter(pk=record.pk), EndReason.ENDED_BY_USER)
    _record_for_user(
        record.user, "session.ended", entity=record, changes={"reason": [None, "ended_by_user"]}
    )


def session_refused(*, record: UserSession) -> None:
    """A cookie of a session that has ended came back (A10): the request was refused. Worth
    recording, since after a revocation it may be the revoked party trying again."""
    _record_for_user(
        record.user, "session.refused", entity=record, changes={"reason": [None, record.end_reason]}
    )


@transaction.atomic
def user_sessions_revoke(*, user: User, reason: EndReason, keep_current: bool = False) -> int:
    """Ends every session of ``user`` (A10); with ``keep_current``, all but the one serving
    this request, which gets a new key and stays signed in. Returns how many ended."""
    kept = _current_session_request(user) if keep_current else None
    _raise_generation(User.objects.filter(pk=user.pk))
    user.refresh_from_db(fields=["session_generation"])
    records = UserSession.objects.filter(user=user)
    if kept is not None:
        records = records.exclude(pk=kept.session.get(RECORD_ID))
    ended = _end(records, reason)
    if kept is not None:
        _keep_signed_in(kept)
    _record_for_user(
        user,
        "sessions.revoked",
        entity=user,
        changes={"reason": [None, reason.value], "sessions_ended": [None, ended]},
    )
    return ended


@transaction.atomic
def members_sessions_revoke(*, user_ids: QuerySet, reason: EndReason) -> int:
    """Ends every session of the users whose ids ``user_ids`` selects (A10), e.g. everyone
    holding a role whose permissions just changed. Returns how many ended; the caller
    records the change that caused it."""
    _raise_generation(User.objects.filter(pk__in=user_ids))
    return _end(UserSession.objects.filter(user__in=user_ids), reason)


@transaction.atomic
def organization_sign_everyone_out(*, keep_current: bool = True) -> int:
    """Signs every member of the current organisation out of every session (A10), but for
    the session that asks, which gets a new key. Returns how many sessions ended."""
    members = member_user_ids()
    request = _current_request.get() if keep_current else None
    _raise_generation(User.objects.filter(pk__in=members))
    records = UserSession.objects.filter(user__in=members)
    if request is not None and request.user.is_authenticated:
        records = records.exclude(pk=request.session.get(RECORD_ID))
        _keep_signed_in(request)
    ended = _end(records, EndReason.ORGANIZATION_SIGN_OUT)
    audit_event_record(
        action="organization.signed_everyone_out",
        entity_type="tenants.organization",
        entity_id=current_organization_id(),
        changes={"sessions_ended": [None, ended]},
    )
    return ended


def sessions_end_lapsed() -> int:
    """Ends the rows of sessions nobody came back to, whose server-side session expired or is
    gone (each a ``session.expired`` event), then deletes expired server-side sessions, as
    Django's ``clearsessions`` does. Returns how many ended."""
    now = timezone.now()
    live = SessionStore.get_model_class().objects.filter(expire_date__gt=now)
    lapsed = (
        UserSession.objects.select_related("user")
        .filter(ended_at__isnull=True, last_seen_at__lt=now - LAPSED_AFTER)
        .exclude(session_key_digest__in=live.values("session_key"))
    )
    records = list(lapsed)
    for record in records:
        with transaction.atomic():
            _end(UserSession.objects.filter(pk=record.pk), EndReason.LAPSED)
            _record_for_user(
                record.user,
                "session.expired",
                entity=record,
                changes={"reason": [None, EndReason.LAPSED.value]},
            )
    SessionStore.clear_expired()
    return len(records)


def rotate_session(request: HttpRequest) -> None:
    """A new session key for a session whose privileges just changed (A7): a second-factor
    step-up, or any other in-session privilege change. The UserSession row follows the key
    (``accounts.sessions.store``)."""
    request.session.cycle_key()


def _raise_generation(users: QuerySet[User]) -> None:
    users.update(session_generation=F("session_generation") + 1)


def _current_session_request(user: User) -> HttpRequest | None:
    request = _current_request.get()
    if request is None or getattr(request.user, "pk", None) != user.pk:
        return None
    return request


def _keep_signed_in(request: HttpRequest) -> None:
    """The session that asked for a revocation survives it with a new key (A7)."""
    request.user.refresh_from_db(fields=["session_generation"])
    request.session[HASH_SESSION_KEY] = request.user.get_session_auth_hash()
    rotate_session(request)


def _end(records: QuerySet[UserSession], reason: EndReason) -> int:
    """Marks the open ones among ``records`` ended and deletes their server-side sessions."""
    open_records = records.filter(ended_at__isnull=True)
    digests = list(open_records.values_list("session_key_digest", flat=True))
    open_records.update(ended_at=timezone.now(), end_reason=reason)
    SessionStore.get_model_class().objects.filter(session_key__in=digests).delete()
    return len(digests)


def _record_for_user(user: User, action: str, *, entity: models.Model, changes: Changes) -> None:
    """In the organisation at hand, or else in each of the person's organisations, acting as
    whoever acts now (an admin revoking someone else's sessions, or the person)."""
    if has_tenant_context():
        audit_event_record(action=action, entity=entity, changes=changes)
    else:
        record_in_each_organisation(user, action, current_actor(), entity=entity, changes=changes)
