"""The organisations' public forms (D7), outside any organisation context; included by
config.urls_portal at the site root. The form pages are counted under the stricter
``public-form`` rate-limit policy (ratelimits.policies.ENDPOINT_POLICIES)."""

from django.urls import path

from workforce import public

patterns: list = [
    path("join/<slug:org_slug>/", public.recruitment_form, name="public-join"),
    path("join/<slug:org_slug>/thanks/", public.recruitment_thanks, name="public-join-thanks"),
    path("demo/<slug:org_slug>/", public.demo_request_form, name="public-demo"),
    path("demo/<slug:org_slug>/thanks/", public.demo_request_thanks, name="public-demo-thanks"),
]
