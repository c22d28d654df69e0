from celery import shared_task

from accounts.sessions.services import sessions_end_lapsed
from audit.context import Actor, acting_as


@shared_task(name="accounts.end_lapsed_sessions")
def end_lapsed_sessions() -> int:
    """Beat job (A10): every session end is an audit event, including sessions nobody came
    back to."""
    with acting_as(Actor(type="system", label="accounts.end_lapsed_sessions")):
        return sessions_end_lapsed()
