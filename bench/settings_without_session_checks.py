"""The application's settings without the session middlewares, for the cost comparison in
``bench/revocation_delay.py`` only."""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE as _ALL_MIDDLEWARE

MIDDLEWARE = [entry for entry in _ALL_MIDDLEWARE if not entry.startswith("accounts.sessions.")]
