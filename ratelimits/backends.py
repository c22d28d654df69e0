from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from audit.context import Actor
from audit.services import record_in_each_organisation
from ratelimits.limiter import RateLimiterUnavailable
from ratelimits.policies import SIGN_IN, policy
from ratelimits.sign_in import Attempt, Block, SignInUnavailable, sign_in_throttle

logger = logging.getLogger(__name__)


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend behind the failed sign-in throttle (A11): a blocked attempt is
    refused (``SignInThrottled``, answered 429 by the rate-limit middleware) before the
    password is checked; every other attempt is counted as a failure or a success."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs,
    ):
        identifier = username if username is not None else kwargs.get(self.username_field)
        if identifier is None or password is None or not settings.PALISADE_RATELIMIT_ENABLED:
            return super().authenticate(request, username, password, **kwargs)
        attempt = Attempt.of(request, str(identifier))
        throttle = sign_in_throttle()
        try:
            throttle.check(attempt)
        except RateLimiterUnavailable:
            if not policy(SIGN_IN).fail_open:
                raise SignInUnavailable from None
            return super().authenticate(request, username, password, **kwargs)
        user = super().authenticate(request, username, password, **kwargs)
        try:
            if user is None:
                blocks = throttle.failed(attempt)
            else:
                throttle.succeeded(attempt)
                blocks = []
        except RateLimiterUnavailable:
            return user  # the outage is logged; the answer is the password's
        if blocks:
            _record_blocks(str(identifier), blocks)
        return user

    @property
    def username_field(self) -> str:
        return get_user_model().USERNAME_FIELD


def _record_blocks(identifier: str, blocks: list[Block]) -> None:
    """A block that begins is an audit event of the account it names (if any), in each of its
    organisations. Only its beginning: refused attempts write nothing, so they cost the same
    for any account and cannot flood the log."""
    user_model = get_user_model()
    user = user_model.objects.filter(email=identifier.strip().lower()).first()
    logger.info("Sign-in blocked: %s", ", ".join(f"{b.scope} {b.milliseconds} ms" for b in blocks))
    if user is None:
        return
    for block in blocks:
        record_in_each_organisation(
            user,
            "auth.sign_in_blocked",
            Actor(type="anonymous"),
            changes={"scope": [None, block.scope], "seconds": [None, block.milliseconds // 1000]},
        )
