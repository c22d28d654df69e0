"""One organisation with a department tree, members of every default role placed in it,
and records whose secret values are distinctive, so a test can look for them in raw bytes.

    ops            site "Ops HQ"          shift_ops
    ├── north      site "North Gate"     shift_north (client Acme, no member)
    │   └── leeds  site "Leeds Depot"    shift_leeds (client Acme, member: staff)
    └── south      site "South Yard"     shift_south (client Other, member: south_staff)

The manager works in north (department scope: north and leeds), the staff member in leeds,
the client contact acts for Acme; owner and auditor see everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.utils import timezone

from tenants.models import Membership
from tests.factories import (
    make_client,
    make_department,
    make_leave,
    make_membership,
    make_shift,
    make_site,
    make_user,
)
from workforce.models import Department, LeaveRequest, Shift

# Three digits before the point: a timestamp's "SS.ffffff" can never contain them, so a page
# or a response is searched for these values without matching the clock by chance.
PAY_RATE = "117.37"
BILL_RATE = "231.19"
MARGIN = "113.82"
NOTE = "INTERNAL-NOTE-XYZ"
SECRETS = {"bill_rate": BILL_RATE, "pay_rate": PAY_RATE, "margin": MARGIN, "internal_notes": NOTE}
ROLES = ("owner", "manager", "staff", "client", "auditor")


@dataclass
class World:
    org: object
    departments: dict[str, Department]
    members: dict[str, Membership]
    shifts: dict[str, Shift]
    leave: dict[str, LeaveRequest]
    users: dict[str, object]

    def client(self, role: str, host: str | None = None) -> HttpClient:
        client = HttpClient(HTTP_HOST=host or settings.PORTAL_HOST)
        client.force_login(self.users[role])
        return client


@pytest.fixture
def world(org_a) -> World:
    ops = make_department(org_a, "Ops")
    north = make_department(org_a, "North", parent=ops)
    leeds = make_department(org_a, "Leeds", parent=north)
    south = make_department(org_a, "South", parent=ops)
    acme = make_client(org_a, "Acme", internal_notes=NOTE)
    other = make_client(org_a, "Other Ltd")

    users, members = {}, {}
    placements = {
        "owner": {"role": "owner"},
        "manager": {"role": "manager", "department": north},
        "staff": {"role": "staff", "department": leeds},
        "south_staff": {"role": "staff", "department": south},
        "client": {"role": "client", "client": acme},
        # A15: an auditor's access is time-boxed.
        "auditor": {"role": "auditor", "valid_until": timezone.now() + timedelta(days=7)},
    }
    for name, fields in placements.items():
        users[name] = make_user(f"{name}@alpha.example")
        members[name] = make_membership(org_a, users[name], **fields)

    secret = {"bill_rate": BILL_RATE, "pay_rate": PAY_RATE, "internal_notes": NOTE}
    shifts = {
        "ops": make_shift(org_a, site=make_site(org_a, "Ops HQ", ops), **secret),
        "north": make_shift(
            org_a, site=make_site(org_a, "North Gate", north), client=acme, **secret
        ),
        "leeds": make_shift(
            org_a,
            site=make_site(org_a, "Leeds Depot", leeds),
            client=acme,
            member=members["staff"],
            **secret,
        ),
        "south": make_shift(
            org_a,
            site=make_site(org_a, "South Yard", south),
            client=other,
            member=members["south_staff"],
            **secret,
        ),
    }
    leave = {name: make_leave(org_a, members[name]) for name in ("manager", "staff", "south_staff")}
    return World(
        org=org_a,
        departments={"ops": ops, "north": north, "leeds": leeds, "south": south},
        members=members,
        shifts=shifts,
        leave=leave,
        users=users,
    )
