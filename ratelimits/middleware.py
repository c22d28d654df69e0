import logging

from django.conf import settings

from ratelimits import responses
from ratelimits.limiter import RateLimiterUnavailable, rate_limiter
from ratelimits.policies import ENDPOINT_POLICIES, EXEMPT_URL_NAMES, SIGN_IN, buckets_for, url_name
from ratelimits.sign_in import SignInThrottled, SignInUnavailable

logger = logging.getLogger(__name__)


class RateLimitMiddleware:
    """Counts every request (A11, T6) in one Redis round trip, before the tenant layer touches
    the database: after authentication (the user names the bucket), before everything else.

    Refused: 429 with Retry-After and the RateLimit headers. Redis unreachable: the request
    passes if every policy it falls under fails open (ordinary requests), otherwise 503
    (sign-in and public forms); ``limiter.OutageLog`` logs the outage. Also answers the
    failed sign-in throttle's refusals, which the authentication backend raises from inside
    the sign-in view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.PALISADE_RATELIMIT_ENABLED:
            return self.get_response(request)
        name = url_name(request)
        if name in EXEMPT_URL_NAMES:
            return self.get_response(request)
        endpoint_policy = ENDPOINT_POLICIES.get(name)
        buckets = buckets_for(request, endpoint_policy)
        try:
            decision = rate_limiter().hit([c for b in buckets for c in b.counters()])
        except RateLimiterUnavailable:
            if all(bucket.policy.fail_open for bucket in buckets):
                return self.get_response(request)
            return responses.limits_unavailable(request, sign_in=endpoint_policy == SIGN_IN)
        if decision.allowed:
            response = self.get_response(request)
        else:
            # Debug only (a flood must not become a flood of log lines), and the URL's name,
            # not its path: paths can hold secrets (invitation links).
            logger.debug("Rate limit reached: %s %s", request.method, name)
            response = responses.too_many_requests(request, decision.retry_after_ms)
        responses.add_rate_limit_headers(response, decision, buckets)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, SignInThrottled):
            logger.debug("Sign-in attempt refused (%s)", exception.scope)
            return responses.sign_in_throttled(request, exception.retry_after_ms)
        if isinstance(exception, SignInUnavailable):
            return responses.limits_unavailable(request, sign_in=True)
        return None
