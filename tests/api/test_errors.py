"""One error format for the whole API (D8, config.api_errors): ``{"detail": ...}`` (with an
optional ``code``) for the request as a whole, ``{field: [messages]}`` for invalid input; never
a page or a 500."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tenants.context import tenant_context
from workforce.services import approvable_status_set

pytestmark = pytest.mark.django_db

API = "/api/v1/o/alpha"


def _is_detail(response) -> bool:
    body = response.json()
    return isinstance(body.get("detail"), str) and set(body) <= {"detail", "code"}


def test_D8_every_kind_of_refusal_has_the_same_shape(world):
    owner, staff = world.client("owner"), world.client("staff")
    shift = world.shifts["north"]
    answers = {
        401: Client(HTTP_HOST=settings.PORTAL_HOST).get(f"{API}/shifts/"),
        403: staff.delete(f"{API}/shifts/{world.shifts['leeds'].pk}/"),
        # An unknown organisation, an unknown row and an unknown API path.
        404: [
            owner.get("/api/v1/o/nowhere/shifts/"),
            owner.get(f"{API}/shifts/999999999/"),
            owner.get(f"{API}/no-such-resource/"),
            owner.get("/api/v1/nothing-here/"),
        ],
        405: owner.post(f"{API}/shifts/export.csv"),
        412: owner.patch(
            f"{API}/shifts/{shift.pk}/",
            {"bill_rate": "1.00"},
            content_type="application/json",
            headers={"if-match": '"stale"'},
        ),
        415: owner.generic("POST", f"{API}/clients/", b"name=x", content_type="text/plain"),
    }
    for expected, responses in answers.items():
        for response in responses if isinstance(responses, list) else [responses]:
            assert response.status_code == expected, (expected, response.content)
            assert response["Content-Type"].startswith("application/json"), expected
            assert _is_detail(response), (expected, response.content)


def test_D8_invalid_input_names_each_field(world):
    owner = world.client("owner")
    malformed = owner.generic(
        "POST", f"{API}/clients/", b"{not json", content_type="application/json"
    )
    assert malformed.status_code == 400 and _is_detail(malformed)
    invalid = owner.post(f"{API}/expenses/", {"amount": "-1"}, content_type="application/json")
    assert invalid.status_code == 400
    body = invalid.json()
    assert set(body) == {"amount", "description"}
    assert all(isinstance(messages, list) for messages in body.values())
    filters = owner.get(f"{API}/shifts/?site=abc&ordering=pay_rate")
    assert filters.status_code == 400
    assert set(filters.json()) == {"site"}


def test_D8_an_undecidable_change_is_a_409_in_the_same_shape(world):
    leave = world.leave["staff"]
    with tenant_context(world.org):
        approvable_status_set(record=leave, status="rejected")
    response = world.client("staff").patch(
        f"{API}/leave/{leave.pk}/", {"reason": "x"}, content_type="application/json"
    )
    assert response.status_code == 409 and _is_detail(response)
