"""Z7 on the way in: a member cannot set a guarded field they may not receive."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.utils import timezone

from rbac.services import role_create
from tenants.context import tenant_context
from tests.factories import make_membership, make_user
from workforce.models import Client, Shift

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduler(world):
    """A custom role that schedules shifts and keeps client records but sees no pay and no
    internal notes."""
    with tenant_context(world.org):
        role_create(
            name="Scheduler",
            permissions=["shift.view", "shift.create", "client.view", "client.create"],
            scopes={"shift": "all"},
        )
    user = make_user("scheduler@alpha.example")
    make_membership(world.org, user, role="scheduler")
    client = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


def _post(client, path, body):
    return client.post(f"/api/v1/o/alpha/{path}", json.dumps(body), content_type="application/json")


def test_Z7_a_member_cannot_set_pay_rates_or_notes_they_may_not_see(world, scheduler):
    starts = timezone.now() + timedelta(days=1)
    with tenant_context(world.org):
        before = Shift.objects.count()
    response = _post(
        scheduler,
        "shifts/",
        {
            "site": world.shifts["ops"].site_id,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=8)).isoformat(),
            "bill_rate": "30.00",
            "pay_rate": "18.00",
            "internal_notes": "rota note",
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "bill_rate": ["You may not set this field."],
        "internal_notes": ["You may not set this field."],
        "pay_rate": ["You may not set this field."],
    }
    with tenant_context(world.org):
        assert Shift.objects.count() == before


def test_Z7_fields_a_member_may_set_are_accepted(world, scheduler):
    refused = _post(scheduler, "clients/", {"name": "Zenith", "internal_notes": "owes us"})
    assert refused.status_code == 400 and "internal_notes" in refused.json()
    created = _post(scheduler, "clients/", {"name": "Zenith"})
    assert created.status_code == 201, created.content
    assert "internal_notes" not in created.json()
    with tenant_context(world.org):
        assert Client.objects.get(name="Zenith").internal_notes == ""
