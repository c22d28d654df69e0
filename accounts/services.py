from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.models import User, UserSession
from accounts.sessions.services import user_sessions_revoke
from audit.context import current_actor
from audit.services import record_in_each_organisation


@transaction.atomic
def user_create(*, email: str, password: str | None, full_name: str = "") -> User:
    user = User(email=User.objects.normalize_email(email).lower(), full_name=full_name.strip())
    if password is not None:
        validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def password_change(*, user: User, new_password: str) -> User:
    """Sets a password the user chose (A1, A2): validated, hashed with Argon2id, and clears a
    forced change. Recorded in each of the user's organisations' audit logs."""
    validate_password(new_password, user)
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    record_in_each_organisation(user, "auth.password_changed")
    # A10: every other session signs in again; the one changing the password (if this runs
    # in one of the user's requests) stays, with a new key.
    user_sessions_revoke(
        user=user, reason=UserSession.EndReason.PASSWORD_CHANGED, keep_current=True
    )
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Nobody can sign in as ``user`` any more (A10): every session ends now, and Django
    refuses inactive users at sign-in and on every request."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    record_in_each_organisation(user, "user.deactivated", current_actor())
    user_sessions_revoke(user=user, reason=UserSession.EndReason.DEACTIVATED)
    return user
