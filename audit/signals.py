"""Sign-in events (L1): recorded in the log of every organisation the user belongs to, since a
sign-in happens before any organisation is chosen."""

from accounts.models import User
from audit.context import Actor, acting_as, user_actor
from audit.services import audit_event_record
from tenants.context import tenant_context
from tenants.selectors import organizations_for_user


def _record_in_each_organisation(user: User, action: str, actor: Actor) -> None:
    for organization in organizations_for_user(user):
        with tenant_context(organization), acting_as(actor):
            audit_event_record(action=action, entity=user)


def on_signed_in(sender, request, user, **kwargs) -> None:
    _record_in_each_organisation(user, "auth.signed_in", user_actor(user))


def on_signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        _record_in_each_organisation(user, "auth.signed_out", user_actor(user))


def on_sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    email = str(credentials.get("username", "")).strip().lower()
    user = User.objects.filter(email=email).first() if email else None
    if user is not None:
        _record_in_each_organisation(user, "auth.sign_in_failed", Actor(type="anonymous"))
