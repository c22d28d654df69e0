"""The workforce world (tests/workforce/conftest.py) and small helpers for the domain tests:
API calls under ``/api/v1/o/alpha/``, shifts at a chosen time, and clients signed in at the
moment a test travels to (sessions have idle limits, so a client made before a jump in time
would be signed out)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.test import Client as HttpClient
from django.utils import timezone

from tenants.context import tenant_context
from tests.workforce import conftest as workforce_conftest
from tests.workforce.conftest import World
from workforce.services import shift_create
from workforce.timekeeping import attendance_clock_in

API = "/api/v1/o/alpha"
# The shared fixture, offered to this package's tests too.
world = workforce_conftest.world


def signed_in(world: World, role: str) -> HttpClient:
    client = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(world.users[role])
    return client


def post(client: HttpClient, path: str, body: dict | None = None):
    return client.post(f"{API}/{path}", body or {}, content_type="application/json")


def patch(client: HttpClient, path: str, body: dict):
    return client.patch(f"{API}/{path}", body, content_type="application/json")


def get(client: HttpClient, path: str, **params):
    return client.get(f"{API}/{path}", params)


def shift_at(
    world: World,
    starts_at: datetime,
    *,
    member: str | None = "staff",
    hours: float = 8,
    pay_rate: str = "20.00",
    site=None,
    designation=None,
):
    with tenant_context(world.org):
        return shift_create(
            site=site or world.shifts["leeds"].site,
            member=world.members[member] if member else None,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            bill_rate=Decimal("30.00"),
            pay_rate=Decimal(pay_rate),
            designation=designation,
        )


def attended(world: World, starts_at: datetime, *, member: str = "staff", late_by: int = 0):
    """The attendance of ``member`` on a new 8-hour shift of theirs at ``starts_at``, clocked
    in ``late_by`` minutes after it starts."""
    shift = shift_at(world, starts_at, member=member)
    clock_in = starts_at + timedelta(minutes=late_by)
    with time_machine.travel(clock_in, tick=False), tenant_context(world.org):
        return attendance_clock_in(shift=shift, member=world.members[member])


@pytest.fixture
def soon() -> datetime:
    """A whole minute two hours from now: clear of the world's shifts (which start a day
    from now) and in the future, so tests only ever travel forwards."""
    return timezone.now().replace(second=0, microsecond=0) + timedelta(hours=2)
