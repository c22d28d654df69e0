"""Changing, deleting and restoring records through the API (D8, G6): through the services
(audited), within the member's scope and organisation (404 otherwise), guarded against lost
updates by ETag and If-Match, and with the fields a member may not receive still absent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.factories import (
    make_client,
    make_designation,
    make_document,
    make_expense,
    make_leave,
    make_membership,
    make_shift,
    make_site,
    make_timesheet,
    make_user,
)
from tests.workforce.conftest import BILL_RATE
from workforce.models import Designation, Expense, LeaveRequest, Shift, Site, Timesheet
from workforce.services import approvable_status_set, record_soft_delete, site_create

pytestmark = pytest.mark.django_db

API = "/api/v1/o/alpha"


def _patch(client: Client, path: str, body: dict, **headers):
    return client.patch(f"{API}/{path}", body, content_type="application/json", headers=headers)


def _events(org, entity_id: int, prefix: str) -> list[str]:
    with tenant_context(org):
        return list(
            AuditEvent.objects.filter(entity_id=str(entity_id), action__startswith=prefix)
            .order_by("seq")
            .values_list("action", flat=True)
        )


def _row(org, model, pk: int):
    with tenant_context(org):
        return model.all_objects.get(pk=pk)


def test_D8_detail_carries_an_etag_and_a_patch_with_it_changes_the_row(world):
    owner = world.client("owner")
    shift = world.shifts["north"]
    read = owner.get(f"{API}/shifts/{shift.pk}/")
    etag = read.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    changed = _patch(
        owner, f"shifts/{shift.pk}/", {"internal_notes": "Bring a torch"}, if_match=etag
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["internal_notes"] == "Bring a torch"
    assert changed.headers["ETag"] != etag
    assert owner.get(f"{API}/shifts/{shift.pk}/").headers["ETag"] == changed.headers["ETag"]
    assert _events(world.org, shift.pk, "shift.updated") == ["shift.updated"]


def test_D8_if_match_with_an_old_version_is_412_and_nothing_changes(world):
    owner = world.client("owner")
    shift = world.shifts["north"]
    stale = owner.get(f"{API}/shifts/{shift.pk}/").headers["ETag"]
    first = _patch(owner, f"shifts/{shift.pk}/", {"bill_rate": "40.00"}, if_match=stale)
    assert first.status_code == 200
    lost = _patch(owner, f"shifts/{shift.pk}/", {"bill_rate": "99.00"}, if_match=stale)
    assert lost.status_code == 412
    assert "changed since you read it" in lost.json()["detail"]
    assert str(_row(world.org, Shift, shift.pk).bill_rate) == "40.00"
    deleted = owner.delete(f"{API}/shifts/{shift.pk}/", headers={"if-match": stale})
    assert deleted.status_code == 412
    assert _row(world.org, Shift, shift.pk).deleted_at is None
    # A weak validator never matches (strong comparison), "*" always does.
    weak = _patch(owner, f"shifts/{shift.pk}/", {"bill_rate": "1.00"}, if_match=f"W/{stale}")
    assert weak.status_code == 412
    star = _patch(owner, f"shifts/{shift.pk}/", {"bill_rate": "1.00"}, if_match="*")
    assert star.status_code == 200


def test_D8_a_patch_keeps_the_create_rules(world):
    owner = world.client("owner")
    shift = world.shifts["north"]
    before = owner.get(f"{API}/shifts/{shift.pk}/").json()
    backwards = _patch(owner, f"shifts/{shift.pk}/", {"ends_at": "2000-01-01T00:00:00Z"})
    assert backwards.status_code == 400
    assert backwards.json() == {"ends_at": ["A shift must end after it starts."]}
    negative = _patch(owner, f"shifts/{shift.pk}/", {"pay_rate": "-1"})
    assert negative.status_code == 400 and "pay_rate" in negative.json()
    empty = _patch(owner, f"shifts/{shift.pk}/", {})
    assert empty.status_code == 400 and "non_field_errors" in empty.json()
    assert owner.get(f"{API}/shifts/{shift.pk}/").json() == before


def test_D8_a_shift_cannot_be_moved_onto_another_of_its_members_shifts(world):
    owner = world.client("owner")
    staff = world.members["staff"]
    other = make_shift(world.org, site=world.shifts["leeds"].site, member=None, starts_at=None)
    clash = world.shifts["leeds"]
    response = _patch(
        owner,
        f"shifts/{other.pk}/",
        {
            "member": staff.pk,
            "starts_at": clash.starts_at.isoformat(),
            "ends_at": clash.ends_at.isoformat(),
        },
    )
    assert response.status_code == 400, response.content
    assert "member" in response.json()
    assert _row(world.org, Shift, other.pk).member_id is None


def test_Z7_forbidden_fields_stay_absent_from_patch_answers_and_cannot_be_set(world):
    manager = world.client("manager")
    shift = world.shifts["north"]
    # Managers may see everything of a shift; a staff member with update rights is not
    # needed to prove it: the client contact reads the same serializer.
    answer = _patch(manager, f"shifts/{shift.pk}/", {"internal_notes": "Gate B"})
    assert answer.status_code == 200
    staff = world.client("staff")
    own = world.leave["staff"]
    changed = _patch(staff, f"leave/{own.pk}/", {"reason": "Family"})
    assert changed.status_code == 200, changed.content
    for secret in ("bill_rate", "pay_rate", "margin", "internal_notes"):
        assert secret not in changed.json()
    # A guarded field in a PATCH body of someone who may not receive it is refused.
    with tenant_context(world.org):
        world.members["manager"].role_definition.permissions = [
            p for p in world.members["manager"].role_definition.permissions if p != "pay_rate.view"
        ]
        world.members["manager"].role_definition.save()
    refused = _patch(manager, f"shifts/{shift.pk}/", {"pay_rate": "1.00"})
    assert refused.status_code == 400
    assert refused.json() == {"pay_rate": ["You may not set this field."]}
    body = manager.get(f"{API}/shifts/{shift.pk}/").json()
    assert "pay_rate" not in body and body["bill_rate"] == BILL_RATE


def test_D8_staff_change_their_own_pending_leave_only(world):
    staff = world.client("staff")
    own, others = world.leave["staff"], world.leave["south_staff"]
    changed = _patch(staff, f"leave/{own.pk}/", {"reason": "Wedding"})
    assert changed.status_code == 200, changed.content
    assert changed.json()["reason"] == "Wedding"
    assert _patch(staff, f"leave/{others.pk}/", {"reason": "x"}).status_code == 404
    # The manager sees the staff member's request but decides it; they do not rewrite it.
    manager = world.client("manager")
    assert manager.get(f"{API}/leave/{own.pk}/").status_code == 200
    assert _patch(manager, f"leave/{own.pk}/", {"reason": "x"}).status_code == 404
    with tenant_context(world.org):
        approvable_status_set(record=own, status=LeaveRequest.Status.APPROVED)
    decided = _patch(staff, f"leave/{own.pk}/", {"reason": "Changed my mind"})
    assert decided.status_code == 409
    assert "already approved" in decided.json()["detail"]
    assert _row(world.org, LeaveRequest, own.pk).reason == "Wedding"


def test_D8_staff_change_their_own_pending_expenses_within_the_rules(world):
    staff = world.client("staff")
    expense = make_expense(world.org, world.members["staff"], amount="10.00")
    negative = _patch(staff, f"expenses/{expense.pk}/", {"amount": "-5"})
    assert negative.status_code == 400
    changed = _patch(staff, f"expenses/{expense.pk}/", {"amount": "12.00"})
    assert changed.status_code == 200 and changed.json()["amount"] == "12.00"
    assert _events(world.org, expense.pk, "expense.updated") == ["expense.updated"]
    # Staff hold no expense.delete.
    assert staff.delete(f"{API}/expenses/{expense.pk}/").status_code == 403
    assert _row(world.org, Expense, expense.pk).deleted_at is None


def test_G6_cross_organisation_patch_delete_and_restore_are_404(world, org_b):
    site_b = make_site(org_b, "Bravo Yard")
    shift_b = make_shift(org_b, site=site_b)
    intruder = make_user("intruder@bravo.example")
    make_membership(org_b, intruder, role="owner")
    owner_a = world.client("owner")
    assert _patch(owner_a, f"shifts/{shift_b.pk}/", {"bill_rate": "1.00"}).status_code == 404
    assert owner_a.delete(f"{API}/shifts/{shift_b.pk}/").status_code == 404
    assert owner_a.delete(f"{API}/sites/{site_b.pk}/").status_code == 404
    with tenant_context(org_b):
        Shift.objects.filter(pk=shift_b.pk).update(deleted_at="2030-01-01T00:00:00Z")
    assert owner_a.post(f"{API}/deleted/shifts/{shift_b.pk}/restore/").status_code == 404
    assert shift_b.pk not in [
        row["id"] for row in owner_a.get(f"{API}/deleted/shifts/").json()["results"]
    ]
    # And the other way round: alpha's rows through bravo's URL are bravo's (none).
    bravo = Client(HTTP_HOST=settings.PORTAL_HOST)
    bravo.force_login(intruder)
    north = world.shifts["north"]
    assert bravo.delete(f"/api/v1/o/bravo/shifts/{north.pk}/").status_code == 404
    assert bravo.delete(f"{API}/shifts/{north.pk}/").status_code == 404
    assert _row(world.org, Shift, north.pk).deleted_at is None
    assert _row(org_b, Shift, shift_b.pk).deleted_at is not None


def test_G6_deleted_rows_are_listed_and_restored_with_both_events(world):
    owner = world.client("owner")
    shift = world.shifts["south"]
    assert owner.delete(f"{API}/shifts/{shift.pk}/").status_code == 204
    assert owner.get(f"{API}/shifts/{shift.pk}/").status_code == 404
    assert shift.pk not in [row["id"] for row in owner.get(f"{API}/shifts/").json()["results"]]
    deleted = owner.get(f"{API}/deleted/shifts/").json()["results"]
    assert [row["id"] for row in deleted] == [shift.pk]
    assert deleted[0]["deleted_at"] is not None
    restored = owner.post(f"{API}/deleted/shifts/{shift.pk}/restore/")
    assert restored.status_code == 200, restored.content
    assert restored.json()["id"] == shift.pk and "ETag" in restored.headers
    assert owner.get(f"{API}/shifts/{shift.pk}/").status_code == 200
    assert owner.get(f"{API}/deleted/shifts/").json()["results"] == []
    # Restoring a live row is a 404: there is nothing deleted to bring back.
    assert owner.post(f"{API}/deleted/shifts/{shift.pk}/restore/").status_code == 404
    assert _events(world.org, shift.pk, "shift.") == [
        "shift.created",
        "shift.deleted",
        "shift.restored",
    ]
    timeline = owner.get(f"{API}/audit/timeline/workforce.shift/{shift.pk}/")
    assert timeline.status_code == 200
    assert {"shift.deleted", "shift.restored"} <= {
        event["action"] for event in timeline.json()["results"]
    }


@pytest.mark.parametrize(
    "module", ["sites", "clients", "leave", "expenses", "timesheets", "documents", "shifts"]
)
def test_G6_every_module_has_a_deleted_list_for_those_who_may_delete(world, module):
    owner = world.client("owner")
    assert owner.get(f"{API}/deleted/{module}/").status_code == 200
    staff = world.client("staff")
    assert staff.get(f"{API}/deleted/{module}/").status_code == 403


def test_G6_sites_and_clients_are_deleted_and_restored(world):
    owner = world.client("owner")
    site = make_site(world.org, "Spare Lot")
    etag = owner.get(f"{API}/sites/{site.pk}/").headers["ETag"]
    renamed = _patch(owner, f"sites/{site.pk}/", {"name": "Spare Lot 2"}, if_match=etag)
    assert renamed.status_code == 200 and renamed.headers["ETag"] != etag
    assert owner.delete(f"{API}/sites/{site.pk}/", headers={"if-match": etag}).status_code == 412
    assert owner.delete(f"{API}/sites/{site.pk}/").status_code == 204
    assert _row(world.org, Site, site.pk).deleted_at is not None
    assert owner.post(f"{API}/deleted/sites/{site.pk}/restore/").status_code == 200
    assert _events(world.org, site.pk, "site.") == [
        "site.created",
        "site.updated",
        "site.deleted",
        "site.restored",
    ]
    client_id = world.shifts["north"].client_id
    assert owner.delete(f"{API}/clients/{client_id}/").status_code == 204
    listed = owner.get(f"{API}/deleted/clients/").json()["results"]
    assert [row["id"] for row in listed] == [client_id]
    assert owner.post(f"{API}/deleted/clients/{client_id}/restore/").status_code == 200


def test_D8_a_shift_requires_a_designation_through_the_api(world):
    owner = world.client("owner")
    guard = make_designation(world.org, "Security officer")
    shift = world.shifts["north"]
    changed = _patch(owner, f"shifts/{shift.pk}/", {"designation": guard.pk})
    assert changed.status_code == 200, changed.content
    assert changed.json()["designation"] == {"id": guard.pk, "name": "Security officer"}
    unknown = _patch(owner, f"shifts/{shift.pk}/", {"designation": 999999999})
    assert unknown.status_code == 400 and "designation" in unknown.json()


def test_G6_no_record_of_another_organisation_can_be_changed_deleted_or_restored(world, org_b):
    bravo_user = make_user("bravo-staff@bravo.example")
    bravo_member = make_membership(org_b, bravo_user, role="staff")
    site = make_site(org_b, "Bravo Yard")
    records = {
        "shifts": make_shift(org_b, site=site),
        "sites": site,
        "clients": make_client(org_b, "Bravo Client"),
        "leave": make_leave(org_b, bravo_member),
        "expenses": make_expense(org_b, bravo_member),
        "timesheets": make_timesheet(org_b, bravo_member),
        "documents": make_document(org_b, bravo_member),
    }
    owner = world.client("owner")
    for module, record in records.items():
        path = f"{module}/{record.pk}/"
        assert owner.get(f"{API}/{path}").status_code == 404, module
        assert _patch(owner, path, {"name": "x", "reason": "x"}).status_code == 404, module
        assert owner.delete(f"{API}/{path}").status_code == 404, module
        with tenant_context(org_b):
            type(record).all_objects.filter(pk=record.pk).update(deleted_at="2030-01-01T00:00Z")
        restore = owner.post(f"{API}/deleted/{module}/{record.pk}/restore/")
        assert restore.status_code == 404, module
        listed = owner.get(f"{API}/deleted/{module}/").json()["results"]
        assert record.pk not in [row["id"] for row in listed], module
        assert _row(org_b, type(record), record.pk).deleted_at is not None, module


def test_G6_D3_a_restore_that_would_overlap_live_leave_is_409_and_nothing_is_restored(world):
    owner = world.client("owner")
    leave = world.leave["staff"]
    assert owner.delete(f"{API}/leave/{leave.pk}/").status_code == 204
    replacement = make_leave(world.org, world.members["staff"], leave.starts_on)
    refused = owner.post(f"{API}/deleted/leave/{leave.pk}/restore/")
    assert refused.status_code == 409, refused.content
    detail = refused.json()["detail"]
    assert detail.startswith("This leave request cannot be restored.")
    assert "already has pending leave from" in detail
    assert _row(world.org, LeaveRequest, leave.pk).deleted_at is not None
    assert "leaverequest.restored" not in _events(world.org, leave.pk, "leaverequest.")
    # Without the clash the same restore goes through.
    assert owner.delete(f"{API}/leave/{replacement.pk}/").status_code == 204
    restored = owner.post(f"{API}/deleted/leave/{leave.pk}/restore/")
    assert restored.status_code == 200 and restored.json()["id"] == leave.pk
    assert _events(world.org, leave.pk, "leaverequest.")[-1] == "leaverequest.restored"


def test_G6_D2_a_restore_that_would_double_book_a_member_is_409(world):
    owner = world.client("owner")
    shift = world.shifts["south"]
    assert owner.delete(f"{API}/shifts/{shift.pk}/").status_code == 204
    make_shift(
        world.org,
        site=make_site(world.org, "Cover Site"),
        member=world.members["south_staff"],
        starts_at=shift.starts_at - timedelta(hours=4),
    )
    refused = owner.post(f"{API}/deleted/shifts/{shift.pk}/restore/")
    assert refused.status_code == 409
    assert "already has a shift at Cover Site" in refused.json()["detail"]
    assert _row(world.org, Shift, shift.pk).deleted_at is not None
    assert "shift.restored" not in _events(world.org, shift.pk, "shift.")


def test_G6_D5_a_restore_that_would_overlap_a_live_timesheet_is_409(world):
    owner = world.client("owner")
    timesheet = make_timesheet(world.org, world.members["owner"])
    assert owner.delete(f"{API}/timesheets/{timesheet.pk}/").status_code == 204
    make_timesheet(world.org, world.members["owner"], timesheet.period_end)
    refused = owner.post(f"{API}/deleted/timesheets/{timesheet.pk}/restore/")
    assert refused.status_code == 409
    assert "overlaps the member's timesheet for" in refused.json()["detail"]
    assert _row(world.org, Timesheet, timesheet.pk).deleted_at is not None


def test_G6_a_name_held_by_a_deleted_row_is_a_400_that_says_to_restore_it(world):
    owner = world.client("owner")
    made = owner.post(f"{API}/designations/", {"name": "Door supervisor"}, "application/json")
    assert made.status_code == 201, made.content
    with tenant_context(world.org):
        record_soft_delete(record=Designation.objects.get(pk=made.json()["id"]))
        site = Site.objects.get(name="North Gate")
        record_soft_delete(record=site)
    again = owner.post(f"{API}/designations/", {"name": "Door supervisor"}, "application/json")
    assert again.status_code == 400, again.content
    assert "restore it from Deleted items" in again.json()["name"][0]
    with tenant_context(world.org):
        with pytest.raises(ValidationError) as refused:
            site_create(name="North Gate")
        assert "A deleted site has the same name" in refused.value.message_dict["name"][0]
        assert Designation.all_objects.filter(name="Door supervisor").count() == 1
        assert Site.all_objects.filter(name="North Gate").count() == 1
