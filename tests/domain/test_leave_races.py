"""D3 with committed transactions: two overlapping leave requests of one member made at the
same moment cannot both be saved (the member's row lock serialises them)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connections, transaction

from tenants.context import tenant_context
from workforce.models import LeaveRequest
from workforce.services import leave_request_create

pytestmark = pytest.mark.usefixtures("committed_db")


def test_D3_two_overlapping_requests_at_once_save_only_one(world):
    member = world.members["staff"]
    ready = threading.Barrier(2)
    outcomes: list[str] = []

    def request(starts_on: date, ends_on: date) -> None:
        try:
            with tenant_context(world.org), transaction.atomic():
                ready.wait(10)
                try:
                    leave_request_create(member=member, starts_on=starts_on, ends_on=ends_on)
                    outcomes.append("saved")
                except ValidationError as error:
                    outcomes.append(error.message_dict["starts_on"][0])
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=request, args=(date(2031, 5, 4), date(2031, 5, 8))),
        threading.Thread(target=request, args=(date(2031, 5, 6), date(2031, 5, 12))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(outcomes) == 2 and outcomes.count("saved") == 1
    refusal = next(outcome for outcome in outcomes if outcome != "saved")
    assert "overlaps these dates" in refusal
    with tenant_context(world.org):
        assert LeaveRequest.objects.filter(member=member, starts_on__year=2031).count() == 1
