"""Lists (D8): filtering and ordering over cursor pagination, in the list's one query, so a
filtered or re-ordered page costs the same for 10 rows as for 1,000."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.context import tenant_context
from tests.factories import make_expense, make_shifts
from workforce.models import Shift
from workforce.services import approvable_status_set

pytestmark = pytest.mark.django_db

API = "/api/v1/o/alpha"


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_D8_shifts_filter_by_site_client_member_department_and_time(world):
    owner = world.client("owner")
    north, leeds = world.shifts["north"], world.shifts["leeds"]
    assert _ids(owner.get(f"{API}/shifts/?site={north.site_id}")) == [north.pk]
    assert set(_ids(owner.get(f"{API}/shifts/?client={north.client_id}"))) == {
        north.pk,
        leeds.pk,
    }
    member = world.members["staff"].pk
    assert _ids(owner.get(f"{API}/shifts/?member={member}")) == [leeds.pk]
    department = world.departments["south"].pk
    assert _ids(owner.get(f"{API}/shifts/?department={department}")) == [world.shifts["south"].pk]
    later = make_shifts(
        world.org, 3, site=north.site, starts_at=timezone.now() + timedelta(days=30)
    )
    after = (timezone.now() + timedelta(days=29)).isoformat()
    window = owner.get(f"{API}/shifts/", {"starts_after": after})
    assert _ids(window) == [shift.pk for shift in later]
    before = (later[1].starts_at).isoformat()
    window = owner.get(f"{API}/shifts/", {"starts_after": after, "starts_before": before})
    assert _ids(window) == [later[0].pk]
    # Filters narrow within the member's scope, never widen it.
    staff = world.client("staff")
    assert _ids(staff.get(f"{API}/shifts/?site={north.site_id}")) == []


def test_D8_requests_filter_by_status_and_member(world):
    owner = world.client("owner")
    leave = world.leave
    with tenant_context(world.org):
        approvable_status_set(record=leave["manager"], status="approved")
    pending = _ids(owner.get(f"{API}/leave/?status=pending"))
    assert set(pending) == {leave["staff"].pk, leave["south_staff"].pk}
    assert _ids(owner.get(f"{API}/leave/?status=approved")) == [leave["manager"].pk]
    mine = world.members["south_staff"].pk
    assert _ids(owner.get(f"{API}/leave/?member={mine}")) == [leave["south_staff"].pk]
    expense = make_expense(world.org, world.members["staff"])
    assert _ids(owner.get(f"{API}/expenses/?member={world.members['staff'].pk}")) == [expense.pk]
    assert owner.get(f"{API}/leave/?status=maybe").json() == {
        "status": ['"maybe" is not a valid choice.']
    }


def test_D8_ordering_is_an_allow_list_and_pages_follow_it(world):
    owner = world.client("owner")
    site = world.shifts["north"].site
    make_shifts(world.org, 5, site=site)
    ascending = _ids(owner.get(f"{API}/shifts/?ordering=starts_at"))
    descending = owner.get(f"{API}/shifts/?ordering=-starts_at&page_size=3")
    first_page = _ids(descending)
    assert first_page == list(reversed(ascending))[:3]
    assert len(first_page) == 3
    seen, page = list(first_page), descending.json()
    while page["next"]:
        page = owner.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]
    assert seen == list(reversed(ascending))
    for unknown in ("pay_rate", "margin", "--starts_at", "member__user__email"):
        refused = owner.get(f"{API}/shifts/?ordering={unknown}")
        assert refused.status_code == 400, unknown
        assert "Order by one of: starts_at" in refused.json()["ordering"][0]
    names = [row["name"] for row in owner.get(f"{API}/sites/?ordering=-name").json()["results"]]
    assert names == sorted(names, reverse=True)


def test_D8_filtered_and_deleted_lists_cost_the_same_for_10_and_1000_rows(world):
    owner = world.client("owner")
    site = world.shifts["north"].site
    paths = [
        f"{API}/shifts/?site={site.pk}&ordering=-starts_at",
        f"{API}/shifts/?client={world.shifts['north'].client_id}&starts_after=2000-01-01T00:00Z",
        f"{API}/leave/?status=pending&ordering=created_at",
        f"{API}/deleted/shifts/",
    ]

    def queries() -> dict[str, int]:
        counts = {}
        for path in paths:
            with CaptureQueriesContext(connection) as captured:
                assert owner.get(path).status_code == 200
            counts[path] = len(captured)
        return counts

    def add(count: int) -> None:
        shifts = make_shifts(world.org, count, site=site, client=world.shifts["north"].client)
        with tenant_context(world.org):
            half = [shift.pk for shift in shifts[::2]]
            Shift.objects.filter(pk__in=half).update(deleted_at=timezone.now())

    add(20)
    small = queries()
    add(1000)
    assert queries() == small
