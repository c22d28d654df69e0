"""Who is acting, and from where, for the audit events of this request or job (L1).

Set once per request by ``audit.middleware.AuditContextMiddleware`` and once per task by the
tenant task base class; read by ``audit.services.audit_event_record``. Without a context the
actor is an unidentified system actor, which the log shows as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    type: str  # "user", "api_token", "system", "platform"
    id: str = ""
    label: str = ""
    role: str = ""


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


UNIDENTIFIED_SYSTEM = Actor(type="system", label="unidentified")

_actor: ContextVar[Actor] = ContextVar("palisade_audit_actor", default=UNIDENTIFIED_SYSTEM)
_origin: ContextVar[Origin | None] = ContextVar("palisade_audit_origin", default=None)
NO_ORIGIN = Origin()


def current_actor() -> Actor:
    return _actor.get()


def current_origin() -> Origin:
    return _origin.get() or NO_ORIGIN


@contextmanager
def acting_as(actor: Actor, origin: Origin | None = None) -> Iterator[None]:
    actor_token = _actor.set(actor)
    origin_token = _origin.set(origin) if origin is not None else None
    try:
        yield
    finally:
        _actor.reset(actor_token)
        if origin_token is not None:
            _origin.reset(origin_token)


def user_actor(user, role: str = "") -> Actor:
    return Actor(type="user", id=str(user.pk), label=user.email, role=role)
