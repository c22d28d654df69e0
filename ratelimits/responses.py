"""How a limit shows in a response (A11): the RateLimit headers of
draft-ietf-httpapi-ratelimit-headers (RateLimit-Limit, -Remaining, -Reset and -Policy) on
every counted response, and 429 with ``Retry-After`` (RFC 9110) when a request is refused:
JSON for the API and for JSON requests, a small page otherwise."""

from __future__ import annotations

import math

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from ratelimits.limiter import Decision
from ratelimits.policies import Bucket


def whole_seconds(milliseconds: int) -> int:
    """Rounded up: a client that waits this long is past the moment it waits for."""
    return max(1, math.ceil(milliseconds / 1000))


def add_rate_limit_headers(response: HttpResponse, decision: Decision, buckets: list[Bucket]):
    response["RateLimit-Limit"] = str(decision.tightest.limit)
    response["RateLimit-Remaining"] = str(decision.remaining)
    response["RateLimit-Reset"] = str(whole_seconds(decision.reset_ms))
    response["RateLimit-Policy"] = ", ".join(
        ";".join(filter(None, [f"{c.quota.limit};w={c.quota.seconds}", bucket.label]))
        for bucket in buckets
        for c in bucket.counters()
    )


def _wants_json(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/") or request.content_type == "application/json"


def _wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' * (seconds != 1)}"
    return f"{math.ceil(seconds / 60)} minutes"


def refusal(
    request: HttpRequest, *, status: int, title: str, detail: str, code: str
) -> HttpResponse:
    if _wants_json(request):
        response = JsonResponse({"detail": detail, "code": code}, status=status)
    else:
        context = {"title": title, "detail": detail}
        response = render(request, "ratelimits/refused.html", context, status=status)
    add_never_cache_headers(response)
    return response


def too_many_requests(request: HttpRequest, retry_after_ms: int) -> HttpResponse:
    seconds = whole_seconds(retry_after_ms)
    response = refusal(
        request,
        status=429,
        title="Too many requests",
        detail=f"Too many requests. Please try again in {_wait(seconds)}.",
        code="rate_limited",
    )
    response["Retry-After"] = str(seconds)
    return response


def sign_in_throttled(request: HttpRequest, retry_after_ms: int) -> HttpResponse:
    """The same answer whether or not the account exists: the throttle counts what was typed,
    not who it names (A11)."""
    seconds = whole_seconds(retry_after_ms)
    response = refusal(
        request,
        status=429,
        title="Too many sign-in attempts",
        detail=f"Too many sign-in attempts. Please try again in {_wait(seconds)}.",
        code="sign_in_throttled",
    )
    response["Retry-After"] = str(seconds)
    return response


def limits_unavailable(request: HttpRequest, *, sign_in: bool) -> HttpResponse:
    what = "Signing in" if sign_in else "This page"
    return refusal(
        request,
        status=503,
        title="Temporarily unavailable",
        detail=f"{what} is temporarily unavailable. Please try again in a minute.",
        code="temporarily_unavailable",
    )
