"""D2 on the web portal: managers add shifts and change them from the shift's page, within
their scope (Z4), without the fields their role withholds (Z7), under the services' rules
(no overlapping shifts for a member), with the version their page showed; every change is
on the shift's timeline (L5)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from rbac.services import role_create
from tenants.context import tenant_context
from tests.factories import make_membership, make_shift, make_shifts, make_site, make_user
from tests.portal.conftest import assert_csp_clean
from tests.workforce.conftest import NOTE
from workforce.models import Shift
from workforce.services import shift_update
from workforce.views import SHIFTS_PER_PAGE

pytestmark = pytest.mark.django_db

ORG = "/o/alpha"
NEW = f"{ORG}/shifts/new/"


def _edit(shift) -> str:
    return f"{ORG}/shifts/{shift.pk}/edit/"


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _body(world, at, **overrides) -> dict:
    body = {
        "site": world.shifts["leeds"].site_id,
        "starts_at": _local(at),
        "ends_at": _local(at + timedelta(hours=8)),
        "member": world.members["staff"].pk,
        "designation": "",
        "client": "",
        "bill_rate": "28.00",
        "pay_rate": "16.50",
        "internal_notes": "",
    }
    return body | overrides


def _shifts(world) -> int:
    with tenant_context(world.org):
        return Shift.objects.count()


@pytest.fixture
def later():
    """A whole minute three days ahead: clear of the world's shifts (a day ahead)."""
    return timezone.now().replace(second=0, microsecond=0) + timedelta(days=3)


def test_D2_a_manager_adds_a_shift_in_their_scope_and_it_is_on_its_timeline(world, later):
    manager = world.client("manager")
    page = manager.get(NEW)
    assert page.status_code == 200
    assert_csp_clean(page)
    form = page.content.decode()
    # Z4: the north manager's sites and members only.
    assert "North Gate" in form and "Leeds Depot" in form
    assert "South Yard" not in form and "south_staff@alpha.example" not in form
    before = _shifts(world)

    response = manager.post(
        NEW, _body(world, later, internal_notes="<script>alert(1)</script> Gate code 4411")
    )
    assert response.status_code == 302
    with tenant_context(world.org):
        shift = Shift.objects.latest("id")
    assert response["Location"] == f"{ORG}/shifts/{shift.pk}/"
    assert _shifts(world) == before + 1
    assert (shift.member_id, shift.pay_rate, shift.starts_at) == (
        world.members["staff"].pk,
        Decimal("16.50"),
        later,
    )
    shown = manager.get(response["Location"]).content.decode()
    assert "Shift: created" in shown and "is added" in shown
    assert "<script>alert(1)</script>" not in shown and "&lt;script&gt;" in shown


def test_D2_the_shift_form_refuses_bad_input_and_saves_nothing(world, later):
    manager = world.client("manager")
    south = world.shifts["south"].site_id
    before = _shifts(world)
    for overrides, message in [
        ({"site": south}, "Select a valid choice"),  # Z4: outside the manager's scope
        ({"member": world.members["south_staff"].pk}, "Select a valid choice"),
        ({"ends_at": _local(later - timedelta(hours=1))}, "A shift must end after it starts."),
        ({"pay_rate": "-1"}, "greater than or equal to 0"),
        ({"bill_rate": "lots"}, "Enter a number."),
        ({"starts_at": "tomorrow"}, "Enter a valid date/time."),
        ({"internal_notes": "x" * 5001}, "at most 5000 characters"),
        ({"site": ""}, "This field is required."),
    ]:
        response = manager.post(NEW, _body(world, later, **overrides))
        assert response.status_code == 400, overrides
        assert message in response.content.decode(), overrides
    assert _shifts(world) == before


def test_D2_a_member_is_not_put_on_two_overlapping_shifts(world):
    leeds = world.shifts["leeds"]
    response = world.client("manager").post(NEW, _body(world, leeds.starts_at + timedelta(hours=2)))
    assert response.status_code == 400
    assert "overlap" in response.content.decode().lower()
    with tenant_context(world.org):
        assert Shift.objects.filter(member=world.members["staff"]).count() == 1


def test_Z1_staff_and_client_contacts_cannot_add_or_change_shifts(world):
    leeds = world.shifts["leeds"]
    staff = world.client("staff")
    assert staff.get(NEW).status_code == 403
    assert staff.post(_edit(leeds), {}).status_code == 403
    assert "Add a shift" not in staff.get(f"{ORG}/shifts/").content.decode()
    assert "Change this shift" not in staff.get(f"{ORG}/shifts/{leeds.pk}/").content.decode()
    # The client portal has no such pages at all.
    client_host = world.client("client", host=settings.CLIENT_HOST)
    assert client_host.get(NEW).status_code == 404
    assert client_host.get(_edit(leeds)).status_code == 404


def test_Z7_a_role_that_may_not_set_rates_is_told_so_and_gets_no_form(world):
    with tenant_context(world.org):
        role_create(name="Scheduler", permissions={"shift.view", "shift.create"})
    user = make_user("scheduler@alpha.example")
    make_membership(world.org, user, role="scheduler")
    scheduler = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    scheduler.force_login(user)
    page = scheduler.get(NEW).content.decode()
    assert "your role may not set them" in page and 'name="pay_rate"' not in page
    before = _shifts(world)
    assert scheduler.post(NEW, _body(world, timezone.now())).status_code == 200
    assert _shifts(world) == before


def test_D2_a_manager_changes_a_shift_from_its_page(world, later):
    leeds = world.shifts["leeds"]
    manager = world.client("manager")
    page = manager.get(f"{ORG}/shifts/{leeds.pk}/").content.decode()
    assert f'href="{_edit(leeds)}"' in page
    form = manager.get(_edit(leeds))
    assert form.status_code == 200
    assert_csp_clean(form)
    text = form.content.decode()
    assert f'value="{timezone.localtime(leeds.starts_at):%Y-%m-%dT%H:%M:%S}"' in text
    version = re.search(r'name="version" value="([^"]+)"', text)[1]

    kept = {"pay_rate": str(leeds.pay_rate), "client": leeds.client_id, "internal_notes": NOTE}
    body = _body(world, later, version=version, **kept)
    response = manager.post(_edit(leeds), body)
    assert response.status_code == 302
    assert response["Location"] == f"{ORG}/shifts/{leeds.pk}/"
    with tenant_context(world.org):
        leeds.refresh_from_db()
        [updated] = AuditEvent.objects.filter(action="shift.updated", entity_id=str(leeds.pk))
    assert (leeds.starts_at, leeds.bill_rate) == (later, Decimal("28.00"))
    # Only what changed is sent and recorded.
    assert set(updated.changes) == {"starts_at", "ends_at", "bill_rate"}

    # The same form again: nothing to change, nothing recorded.
    again = manager.post(_edit(leeds), _body(world, later, version="", **kept))
    assert again.status_code == 302
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(action="shift.updated").count() == 1


def test_D2_a_change_made_meanwhile_is_not_overwritten(world, later):
    leeds = world.shifts["leeds"]
    manager = world.client("manager")
    version = re.search(
        r'name="version" value="([^"]+)"', manager.get(_edit(leeds)).content.decode()
    )[1]
    with tenant_context(world.org):
        shift_update(shift=leeds, internal_notes="Changed by someone else")
    response = manager.post(_edit(leeds), _body(world, later, version=version), follow=True)
    assert "changed after you opened it" in response.content.decode()
    with tenant_context(world.org):
        leeds.refresh_from_db()
    assert leeds.starts_at != later and leeds.internal_notes == "Changed by someone else"


def test_Z4_a_shift_outside_the_scope_or_of_another_organisation_cannot_be_changed(
    world, later, org_b
):
    south = world.shifts["south"]
    manager = world.client("manager")
    assert manager.get(_edit(south)).status_code == 404
    assert manager.post(_edit(south), _body(world, later)).status_code == 404
    bravo_owner = make_user("owner@bravo.example")
    make_membership(org_b, bravo_owner, role="owner")
    bravo_site = make_site(org_b, "Bravo Depot")
    bravo = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    bravo.force_login(bravo_owner)
    assert bravo.get(f"/o/bravo/shifts/{south.pk}/edit/").status_code == 404
    # T4: another organisation's site cannot be referred to from this one.
    owner = world.client("owner")
    response = owner.post(NEW, _body(world, later, site=bravo_site.pk))
    assert response.status_code == 400
    with tenant_context(world.org):
        assert not Shift.objects.filter(starts_at=later).exists()


def test_D2_the_shift_list_links_each_row_and_offers_adding_to_managers(world):
    page = world.client("manager").get(f"{ORG}/shifts/").content.decode()
    assert f'href="{NEW}"' in page
    assert f'href="{ORG}/shifts/{world.shifts["leeds"].pk}/"' in page
    rota = world.client("manager").get(f"{ORG}/rota/").content.decode()
    assert f'href="{NEW}"' in rota
    # The client host has no shift pages to link to, and adds nothing.
    client_page = world.client("client", host=settings.CLIENT_HOST).get(f"{ORG}/shifts/")
    text = client_page.content.decode()
    assert client_page.status_code == 200 and "North Gate" in text
    assert f"{ORG}/shifts/{world.shifts['north'].pk}/" not in text and NEW not in text


def test_D2_the_shift_list_shows_upcoming_open_or_past_shifts(world):
    now = timezone.now().replace(second=0, microsecond=0)
    yesterday = make_shift(
        world.org, site=world.shifts["leeds"].site, starts_at=now - timedelta(days=1)
    )
    owner = world.client("owner")

    def listed(show: str | None) -> str:
        response = owner.get(f"{ORG}/shifts/", {"show": show} if show else {})
        assert response.status_code == 200
        return response.content.decode()

    past_link = f'href="{ORG}/shifts/{yesterday.pk}/"'
    leeds_link = f'href="{ORG}/shifts/{world.shifts["leeds"].pk}/"'  # assigned, tomorrow
    ops_link = f'href="{ORG}/shifts/{world.shifts["ops"].pk}/"'  # nobody assigned, tomorrow
    upcoming = listed(None)
    assert leeds_link in upcoming and ops_link in upcoming and past_link not in upcoming
    open_shifts = listed("open")
    assert ops_link in open_shifts and leeds_link not in open_shifts
    past = listed("past")
    assert past_link in past and leeds_link not in past
    assert past_link in listed("all") and leeds_link in listed("all")
    unknown = owner.get(f"{ORG}/shifts/", {"show": "<b>x</b>"})
    assert unknown.status_code == 400 and "Select a valid choice" in unknown.content.decode()


def test_G3_the_shift_list_offers_the_csv_export_to_those_who_may_export(world):
    page = world.client("owner").get(f"{ORG}/shifts/").content.decode()
    export = re.search(r'href="([^"]+export\.csv)"', page)[1]
    response = world.client("owner").get(export)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "North Gate" in b"".join(response.streaming_content).decode()
    assert "export.csv" not in world.client("staff").get(f"{ORG}/shifts/").content.decode()


def test_D2_the_shift_list_pages_without_counting_every_shift(world):
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=10)
    make_shifts(world.org, SHIFTS_PER_PAGE + 5, site=world.shifts["ops"].site, starts_at=start)
    owner = world.client("owner")
    with CaptureQueriesContext(connection) as captured:
        first = owner.get(f"{ORG}/shifts/").content.decode()
    assert not any("COUNT(" in query["sql"] for query in captured.captured_queries)
    assert "Page 1" in first and "page=2" in first and 'rel="prev"' not in first
    second = owner.get(f"{ORG}/shifts/", {"page": "2"}).content.decode()
    # 4 of the world's upcoming shifts + 55 new ones: 9 on the second page.
    assert second.count("(open the shift)") == 9
    assert 'rel="prev"' in second and 'rel="next"' not in second
    for odd in ("abc", "0", "-1", "9" * 30):
        response = owner.get(f"{ORG}/shifts/", {"page": odd})
        assert response.status_code == 200 and "Page 1" in response.content.decode(), odd
    beyond = owner.get(f"{ORG}/shifts/", {"page": "40"}).content.decode()
    assert "No shifts on page 40." in beyond and "Back to the first page" in beyond
