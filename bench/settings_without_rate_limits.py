"""The application's settings without the rate-limit middleware, for the comparison in
``bench/ratelimit_overhead.py`` only."""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE as _ALL_MIDDLEWARE

MIDDLEWARE = [entry for entry in _ALL_MIDDLEWARE if not entry.startswith("ratelimits.")]
