"""Session bookkeeping on Django's sign-in and sign-out signals, so any sign-in flow (password,
second factor, invitation acceptance) gets it without calling it."""

from accounts.sessions.services import session_signed_out, session_start


def on_signed_in(sender, request, user, **kwargs) -> None:
    session_start(request=request, user=user)


def on_signed_out(sender, request, user, **kwargs) -> None:
    session_signed_out(request=request)
