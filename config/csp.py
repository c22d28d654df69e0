"""The Content-Security-Policy of every site (O10): scripts, styles, fonts, frames and form
targets from this origin only, so no inline script or ``style=`` attribute runs and an
injected ``<script>`` or ``onclick=`` is inert even if output encoding ever failed.

A few lines of our own rather than django-csp: one fixed policy with no per-view variations
needs no configuration layer. Django 6 has this built in; move to it with the upgrade.

The one way to change the policy of a page is for its view to set the header itself (the
middleware keeps an existing one). None does: the API answers JSON only (DRF's browsable
renderer is off), and the OpenAPI docs page uses drf-spectacular's
``SpectacularSwaggerSplitView``, which serves its start-up script as a file, with its inline
style rules moved to ``static/css/api-docs.css`` (``templates/drf_spectacular/``), so it
lives under this policy too.
"""

from __future__ import annotations

HEADER = "Content-Security-Policy"

POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        # Clickjacking (with X-Frame-Options: DENY for older browsers).
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response of every site: pages, error pages that other
    middleware answers (404 of an unknown organisation, 429 of the rate limiter), and the
    API's JSON (where it costs nothing and covers a response a browser renders anyway)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response.headers:
            response.headers[HEADER] = POLICY
        return response
