"""A property-based run of schemathesis against the OpenAPI schema (D8): requests generated
from the schema, sent as a signed-in owner through the application (in process, WSGI), and no
answer may be a server error.

Bounded (a few examples per operation, no example database) to stay well under a minute. Every
operation of the workforce API runs (lists with their filters and ordering, details, creates,
PATCH and DELETE with random If-Match headers, deleted lists and restores); the rest of the
organisation API runs its GETs, which change nothing.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import got_request_exception
from django.test.client import ClientHandler
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.django_db

EXAMPLES = 8
WORKFORCE = re.compile(
    r"^/api/v1/o/\{org_slug\}/"
    r"(shifts|leave|expenses|timesheets|documents|clients|sites|departments|deleted)/"
)
# Endpoints whose GET changes nothing but whose cost is the whole log, not a page.
SKIPPED = {"/api/v1/o/{org_slug}/audit/verify/"}


def _wsgi_app(statuses: Counter, session: str):
    """Django's test handler as a WSGI application, every request carrying the owner's
    session cookie: it keeps the test's database connection (and its rolled-back transaction)
    open between requests, and skips CSRF as the test client does; session authentication is
    otherwise real."""
    handler = ClientHandler(enforce_csrf_checks=False)

    def app(environ, start_response):
        environ["HTTP_COOKIE"] = f"{settings.SESSION_COOKIE_NAME}={session}"
        response = handler(environ)
        statuses[response.status_code] += 1
        headers = [*response.items()]
        headers += [("Set-Cookie", cookie.OutputString()) for cookie in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return response

    return app


def _selected(operation) -> bool:
    if operation.path in SKIPPED or not operation.path.startswith("/api/v1/o/"):
        return False
    return operation.method.upper() == "GET" or bool(WORKFORCE.match(operation.path))


def test_D8_schemathesis_finds_no_server_errors(world):
    owner = world.client("owner")
    raw = owner.get("/api/v1/schema/?format=json").json()
    # The run signs in with the owner's session cookie; left in, the security schemes would
    # have schemathesis send made-up bearer tokens and cookies, which only test sign-in.
    raw.get("components", {}).pop("securitySchemes", None)
    for operations in raw["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    schema = schemathesis.openapi.from_dict(raw)
    statuses: Counter = Counter()
    schema.app = _wsgi_app(statuses, owner.cookies[settings.SESSION_COOKIE_NAME].value)
    base_url = f"http://{settings.PORTAL_HOST}"

    failures: list[str] = []
    errors: list[str] = []

    def remember(sender, request=None, **kwargs):
        errors.append(f"{request.method} {request.get_full_path()}" if request else "?")

    got_request_exception.connect(remember)
    operations = [result.ok() for result in schema.get_all_operations()]
    selected = [operation for operation in operations if _selected(operation)]
    assert len(selected) >= 40, [op.label for op in selected]
    try:
        for operation in selected:
            strategy = operation.as_strategy(path_parameters={"org_slug": "alpha"})

            @given(case=strategy)
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                case.call_and_validate(base_url=base_url, checks=[not_a_server_error])

            try:
                run()
            except Exception as failure:  # collected, reported together
                failures.append(f"{operation.label}: {failure}")
    finally:
        got_request_exception.disconnect(remember)
    assert not failures, "\n\n".join(failures[:5]) + f"\n\nserver errors at: {errors[:10]}"
    # The run was signed in and reached the views: most answers are successes or refusals of
    # generated input, not sign-in failures.
    assert statuses[200] + statuses[201] + statuses[204] > len(selected), statuses
    assert statuses[401] == 0, statuses
