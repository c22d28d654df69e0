"""The application's settings with a plain Django session and no access controls beyond the
tenant membership check: no session lifetime/revocation middlewares and no rate limits. The
baseline of ``bench/access_layer.py`` only."""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE as _ALL_MIDDLEWARE

MIDDLEWARE = [
    entry
    for entry in _ALL_MIDDLEWARE
    if not entry.startswith(("ratelimits.", "accounts.sessions."))
]
