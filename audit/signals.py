"""Sign-in events (L1): recorded in the log of every organisation the user belongs to, since a
sign-in happens before any organisation is chosen."""

from accounts.models import User
from accounts.second_factors.selectors import method_of
from audit.context import Actor, user_actor
from audit.services import record_in_each_organisation


def on_signed_in(sender, request, user, **kwargs) -> None:
    # A4-A6: a sign-in completed by a second factor names its kind (accounts.sign_in).
    device = getattr(user, "otp_device", None)
    changes = {"second_factor": [None, method_of(device)]} if device is not None else None
    record_in_each_organisation(user, "auth.signed_in", user_actor(user), changes=changes)


def on_signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record_in_each_organisation(user, "auth.signed_out", user_actor(user))


def on_sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    email = str(credentials.get("username", "")).strip().lower()
    user = User.objects.filter(email=email).first() if email else None
    if user is not None:
        record_in_each_organisation(user, "auth.sign_in_failed", Actor(type="anonymous"))
