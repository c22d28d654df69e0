"""The Deleted items page and the Delete buttons (G6, L5): each member sees the deleted rows
of the modules they may delete, within their scope (Z4) and without withheld fields (Z7); the
page is declared ``requires_any`` of the delete permissions (Z1); deleting and restoring go
through the audited services and put ``<model>.deleted`` and ``<model>.restored`` on the
record's timeline; refusals are 403 (no permission, audited) or 404 (unknown module, live or
deleted row, another organisation's or out-of-scope row); every POST needs its CSRF token;
nothing inline that the Content-Security-Policy refuses (O10)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client as HttpClient

from audit.models import AuditEvent
from rbac.services import role_create
from tenants.context import tenant_context
from tests.factories import (
    make_client,
    make_expense,
    make_leave,
    make_membership,
    make_shift,
    make_site,
    make_staff_profile,
    make_timesheet,
    make_user,
)
from tests.portal.conftest import assert_csp_clean
from workforce.api import DELETED_MODULES
from workforce.models import Client, Expense, LeaveRequest, Shift, Site, Timesheet
from workforce.services import approvable_status_set, record_soft_delete

pytestmark = pytest.mark.django_db

ORG = "/o/alpha"
DELETED = f"{ORG}/deleted/"
NAV = re.compile(r'<nav class="orgnav".*?</nav>', re.DOTALL)


def _restore_url(module: str, record_id: int) -> str:
    return f"{DELETED}{module}/{record_id}/restore/"


def _soft_delete(org, *records) -> None:
    with tenant_context(org):
        for record in records:
            record_soft_delete(record=record)


def _deleted_at(org, model, pk: int):
    with tenant_context(org):
        return model.all_objects.get(pk=pk).deleted_at


def _actions(org, record) -> list[str]:
    with tenant_context(org):
        return list(
            AuditEvent.objects.filter(
                entity_id=str(record.pk), action__startswith=f"{record._meta.model_name}."
            )
            .order_by("seq")
            .values_list("action", flat=True)
        )


def _version(page: str) -> str:
    return re.search(r'name="version" value="([^"]+)"', page).group(1)


def test_G6_L5_owner_deletes_a_shift_from_its_page_restores_it_and_sees_both_events(world):
    owner = world.client("owner")
    shift = world.shifts["leeds"]
    page = owner.get(f"{ORG}/shifts/{shift.pk}/").content.decode()
    assert "Delete this shift" in page
    deleted = owner.post(f"{ORG}/shifts/{shift.pk}/delete/", {"version": _version(page)})
    assert deleted.status_code == 302 and deleted["Location"] == DELETED
    listing = owner.get(DELETED)
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "The shift (Leeds Depot, " in html and "is deleted." in html
    assert f'id="deleted-shifts-{shift.pk}"' in html
    assert f'action="{_restore_url("shifts", shift.pk)}"' in html
    assert owner.get(f"{ORG}/shifts/{shift.pk}/").status_code == 404

    restored = owner.post(_restore_url("shifts", shift.pk))
    assert restored.status_code == 302 and restored["Location"] == DELETED
    assert _deleted_at(world.org, Shift, shift.pk) is None
    after = owner.get(DELETED).content.decode()
    assert "is restored." in after and f'href="{ORG}/shifts/{shift.pk}/">Open it</a>' in after
    assert f'id="deleted-shifts-{shift.pk}"' not in after
    assert "Nothing is deleted" in after

    assert _actions(world.org, shift) == ["shift.created", "shift.deleted", "shift.restored"]
    timeline = owner.get(f"{ORG}/shifts/{shift.pk}/").content.decode()
    assert timeline.index("Shift: deleted") < timeline.index("Shift: restored")
    # Restoring it again: it is live, nothing deleted to bring back.
    assert owner.post(_restore_url("shifts", shift.pk)).status_code == 404


def test_G6_a_shift_changed_since_its_page_was_shown_is_not_deleted(world):
    owner = world.client("owner")
    shift = world.shifts["ops"]
    response = owner.post(f"{ORG}/shifts/{shift.pk}/delete/", {"version": "not-the-version"})
    assert response.status_code == 302 and response["Location"] == f"{ORG}/shifts/{shift.pk}/"
    assert _deleted_at(world.org, Shift, shift.pk) is None
    assert "changed after you opened it" in owner.get(response["Location"]).content.decode()


def test_G6_Z4_each_member_lists_only_what_they_may_see_and_delete(world):
    north, south = world.shifts["north"], world.shifts["south"]
    site = make_site(world.org, "Closed Depot")
    expense = make_expense(world.org, world.members["staff"])
    _soft_delete(world.org, north, south, site, expense, world.leave["south_staff"])

    owner = world.client("owner").get(DELETED).content.decode()
    for row in (
        f"deleted-shifts-{north.pk}",
        f"deleted-shifts-{south.pk}",
        f"deleted-sites-{site.pk}",
        f"deleted-expenses-{expense.pk}",
        f"deleted-leave-{world.leave['south_staff'].pk}",
    ):
        assert f'id="{row}"' in owner
    # The manager: department scope (north and leeds), and no site.delete.
    manager = world.client("manager").get(DELETED).content.decode()
    assert f'id="deleted-shifts-{north.pk}"' in manager
    assert f'id="deleted-expenses-{expense.pk}"' in manager  # the staff member is in leeds
    assert f"deleted-shifts-{south.pk}" not in manager
    assert f"deleted-leave-{world.leave['south_staff'].pk}" not in manager
    assert "deleted-sites-" not in manager and ">Sites</h2>" not in manager


def test_G6_the_empty_page_says_nothing_is_deleted_and_what_deleting_does(world):
    response = world.client("owner").get(DELETED)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing is deleted" in html
    assert "Deleting a record hides it" in html and "Restore it here" in html
    assert_csp_clean(response)


def test_O10_the_page_with_rows_and_the_shift_page_need_no_inline_script(world):
    _soft_delete(world.org, world.shifts["north"])
    owner = world.client("owner")
    for path in (DELETED, f"{ORG}/shifts/{world.shifts['ops'].pk}/"):
        response = owner.get(path)
        assert response.status_code == 200
        assert_csp_clean(response)


def test_G6_Z8_only_members_who_may_delete_see_the_link_and_the_page(world):
    def nav(role: str) -> str:
        found = NAV.search(world.client(role).get(f"{ORG}/rota/").content.decode())
        return found.group(0) if found else ""

    assert ">Deleted items</a>" in nav("owner")
    assert ">Deleted items</a>" in nav("manager")
    for role in ("staff", "auditor"):
        assert ">Deleted items</a>" not in nav(role)
        assert world.client(role).get(DELETED).status_code == 403
    assert world.client("client").get(DELETED).status_code == 403


def test_G6_members_without_the_delete_permission_are_refused(world):
    shift = world.shifts["leeds"]
    staff = world.client("staff")
    assert "Delete this shift" not in staff.get(f"{ORG}/shifts/{shift.pk}/").content.decode()
    assert staff.post(f"{ORG}/shifts/{shift.pk}/delete/").status_code == 403
    assert _deleted_at(world.org, Shift, shift.pk) is None
    _soft_delete(world.org, shift)
    assert staff.post(_restore_url("shifts", shift.pk)).status_code == 403
    # The manager deletes shifts but not sites.
    site = make_site(world.org, "Closed Depot")
    _soft_delete(world.org, site)
    assert world.client("manager").post(_restore_url("sites", site.pk)).status_code == 403
    assert _deleted_at(world.org, Shift, shift.pk) is not None
    assert _deleted_at(world.org, Site, site.pk) is not None


def test_G6_unknown_module_live_out_of_scope_and_other_organisations_rows_are_404(world, org_b):
    owner, manager = world.client("owner"), world.client("manager")
    south = world.shifts["south"]
    assert owner.post(_restore_url("rotas", south.pk)).status_code == 404
    assert owner.post(_restore_url("shifts", south.pk)).status_code == 404  # live
    _soft_delete(world.org, south)
    assert manager.post(_restore_url("shifts", south.pk)).status_code == 404  # outside north
    assert manager.post(f"{ORG}/shifts/{south.pk}/delete/").status_code == 404
    shift_b = make_shift(org_b, site=make_site(org_b, "Bravo Yard"))
    _soft_delete(org_b, shift_b)
    assert owner.post(_restore_url("shifts", shift_b.pk)).status_code == 404
    assert owner.post(f"{ORG}/shifts/{shift_b.pk}/delete/").status_code == 404
    # A member of bravo cannot reach alpha's rows through either organisation's URL.
    intruder = make_user("intruder@bravo.example")
    make_membership(org_b, intruder, role="owner")
    bravo = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    bravo.force_login(intruder)
    assert bravo.post(f"/o/bravo/deleted/shifts/{south.pk}/restore/").status_code == 404
    assert bravo.post(_restore_url("shifts", south.pk)).status_code in (403, 404)
    assert _deleted_at(world.org, Shift, south.pk) is not None
    assert _deleted_at(org_b, Shift, shift_b.pk) is not None
    # Restore and delete are POSTs only.
    assert owner.get(_restore_url("shifts", south.pk)).status_code == 405


def test_G6_delete_and_restore_need_the_csrf_token(world):
    shift = world.shifts["ops"]
    strict = HttpClient(HTTP_HOST=settings.PORTAL_HOST, enforce_csrf_checks=True)
    strict.force_login(world.users["owner"])
    assert strict.post(f"{ORG}/shifts/{shift.pk}/delete/").status_code == 403
    assert _deleted_at(world.org, Shift, shift.pk) is None
    _soft_delete(world.org, shift)
    assert strict.post(_restore_url("shifts", shift.pk)).status_code == 403
    assert _deleted_at(world.org, Shift, shift.pk) is not None
    # With the token from the page, the same request restores.
    page = strict.get(DELETED).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    restored = strict.post(_restore_url("shifts", shift.pk), {"csrfmiddlewaretoken": token})
    assert restored.status_code == 302
    assert _deleted_at(world.org, Shift, shift.pk) is None


# --- every module's Delete button ------------------------------------------------------------


def _delete_url(module: str, record_id: int) -> str:
    return f"{ORG}/{module}/{record_id}/delete/"


def _owners_leave(world):
    return world.leave["staff"], f"{ORG}/leave/{world.leave['staff'].pk}/"


def _owners_expense(world):
    return make_expense(world.org, world.members["owner"]), f"{ORG}/expenses/"


def _owners_timesheet(world):
    return make_timesheet(world.org, world.members["owner"]), f"{ORG}/timesheets/"


def _site(world):
    return make_site(world.org, "Closed Depot"), f"{ORG}/sites/"


def _client(world):
    client = make_client(world.org, "Gone Ltd")
    return client, f"{ORG}/clients/{client.pk}/"


# (module, model, a record and the page that shows it with its Delete button)
MODULES = [
    ("leave", LeaveRequest, _owners_leave),
    ("expenses", Expense, _owners_expense),
    ("timesheets", Timesheet, _owners_timesheet),
    ("sites", Site, _site),
    ("clients", Client, _client),
]


@pytest.mark.parametrize(("module", "model", "make"), MODULES)
def test_G6_L5_owner_deletes_each_module_from_its_page_and_restores_it(world, module, model, make):
    owner = world.client("owner")
    record, page = make(world)
    action = f'action="{_delete_url(module, record.pk)}"'
    if page is not None:
        shown = owner.get(page)
        assert shown.status_code == 200 and action in shown.content.decode()
        assert_csp_clean(shown)
    deleted = owner.post(_delete_url(module, record.pk))
    assert deleted.status_code == 302 and deleted["Location"] == DELETED
    assert _deleted_at(world.org, model, record.pk) is not None
    listing = owner.get(DELETED).content.decode()
    assert "is deleted. It stays here until you restore it." in listing
    assert f'id="deleted-{module}-{record.pk}"' in listing
    if page is not None:
        gone = owner.get(page)
        assert gone.status_code == 404 or action not in gone.content.decode()

    assert owner.post(_restore_url(module, record.pk)).status_code == 302
    assert _deleted_at(world.org, model, record.pk) is None
    name = model._meta.model_name
    assert _actions(world.org, record)[-2:] == [f"{name}.deleted", f"{name}.restored"]
    # Deleting it twice: the second finds no live row.
    assert owner.post(_delete_url(module, record.pk)).status_code == 302
    assert owner.post(_delete_url(module, record.pk)).status_code == 404


def test_G6_L5_the_leave_page_shows_its_deletion_and_restoration_on_the_timeline(world):
    owner = world.client("owner")
    leave, page = _owners_leave(world)
    html = owner.get(page).content.decode()
    assert "Delete this leave request" in html
    assert (
        owner.post(_delete_url("leave", leave.pk), {"version": _version(html)}).status_code == 302
    )
    assert owner.post(_restore_url("leave", leave.pk)).status_code == 302
    timeline = owner.get(page).content.decode()
    assert timeline.index("Leave request: deleted") < timeline.index("Leave request: restored")


def test_G6_a_leave_request_changed_since_its_page_was_shown_is_not_deleted(world):
    owner = world.client("owner")
    leave, page = _owners_leave(world)
    response = owner.post(_delete_url("leave", leave.pk), {"version": "not-the-version"})
    assert response.status_code == 302 and response["Location"] == page
    assert _deleted_at(world.org, LeaveRequest, leave.pk) is None
    assert "changed after you opened it" in owner.get(page).content.decode()


@pytest.mark.parametrize(("module", "model", "make"), MODULES)
def test_G6_Z1_a_member_without_the_delete_permission_is_refused_and_audited(
    world, module, model, make
):
    record, page = make(world)
    staff = world.client("staff")
    assert staff.post(_delete_url(module, record.pk)).status_code == 403
    assert _deleted_at(world.org, model, record.pk) is None
    with tenant_context(world.org):
        [denial] = AuditEvent.objects.filter(action="access.denied")
    subject = DELETED_MODULES[module].subject
    assert denial.changes["permission"] == [None, f"{subject}.delete"]
    if page is not None:
        assert "/delete/" not in staff.get(page).content.decode()


@pytest.mark.parametrize(("module", "model", "make"), MODULES)
def test_G6_another_organisations_record_cannot_be_deleted(world, org_b, module, model, make):
    record, _ = make(world)
    intruder = make_user("intruder@bravo.example")
    make_membership(org_b, intruder, role="owner")
    bravo = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    bravo.force_login(intruder)
    # Through bravo's URL the row does not exist; alpha's URL is not bravo's organisation.
    assert bravo.post(f"/o/bravo/{module}/{record.pk}/delete/").status_code == 404
    assert bravo.post(_delete_url(module, record.pk)).status_code == 404
    assert _deleted_at(world.org, model, record.pk) is None


def test_G6_Z1_the_page_admits_one_delete_permission_and_shows_only_that_section(world):
    with tenant_context(world.org):
        role_create(
            name="Expense clerk",
            permissions=["expense.view", "expense.delete"],
            scopes={"expense": "all"},
        )
    clerk = make_user("clerk@alpha.example")
    make_membership(world.org, clerk, role="expense-clerk")
    expense = make_expense(world.org, world.members["staff"])
    _soft_delete(world.org, expense, world.shifts["north"])
    client = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(clerk)
    response = client.get(DELETED)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="deleted-expenses-{expense.pk}"' in html
    assert ">Expenses</h2>" in html and ">Shifts</h2>" not in html
    assert "deleted-shifts-" not in html
    nav = NAV.search(client.get(DELETED).content.decode()).group(0)
    assert ">Deleted items</a>" in nav


def test_G6_Z1_a_member_with_no_delete_permission_is_refused_the_page_and_audited(world):
    assert world.client("staff").get(DELETED).status_code == 403
    with tenant_context(world.org):
        [denial] = AuditEvent.objects.filter(action="access.denied")
    assert denial.changes["path"] == [None, DELETED]
    # The declaration's alternatives, every one of which the staff role lacks.
    assert denial.changes["permission"][1].split(" or ") == [
        "shift.delete",
        "site.delete",
        "client.delete",
        "leave.delete",
        "expense.delete",
        "timesheet.delete",
        "document.delete",
    ]


# --- restores that would break a rule (G6, D2, D3) -------------------------------------------


def _refused_restore(world, module: str, record, clash: str) -> None:
    """The owner's Restore of ``record`` is refused with ``clash`` named: back to Deleted
    items with the message, the row still deleted and listed, no ``restored`` event."""
    owner = world.client("owner")
    response = owner.post(_restore_url(module, record.pk))
    assert response.status_code == 302 and response["Location"] == DELETED
    page = owner.get(DELETED)
    html = page.content.decode()
    assert "cannot be restored." in html and clash in html
    assert f'id="deleted-{module}-{record.pk}"' in html
    assert _deleted_at(world.org, type(record), record.pk) is not None
    assert f"{record._meta.model_name}.restored" not in _actions(world.org, record)
    assert_csp_clean(page)


def test_G6_D3_restoring_leave_that_overlaps_leave_made_since_is_refused(world):
    leave = world.leave["staff"]
    _soft_delete(world.org, leave)
    replacement = make_leave(world.org, world.members["staff"], leave.starts_on)
    _refused_restore(world, "leave", leave, "already has pending leave from")
    # Once the leave that took its dates is deleted too, it comes back.
    _soft_delete(world.org, replacement)
    assert world.client("owner").post(_restore_url("leave", leave.pk)).status_code == 302
    assert _deleted_at(world.org, LeaveRequest, leave.pk) is None
    assert _actions(world.org, leave)[-1] == "leaverequest.restored"


def test_G6_D3_restoring_leave_beyond_the_allowance_left_is_refused(world):
    leave = world.leave["staff"]
    _soft_delete(world.org, leave)
    make_staff_profile(world.org, world.members["staff"], annual_leave_days=0)
    _refused_restore(world, "leave", leave, "This request takes 1 day(s) of")


def test_G6_D2_restoring_a_shift_that_double_books_its_member_is_refused(world):
    shift = world.shifts["leeds"]
    _soft_delete(world.org, shift)
    make_shift(
        world.org,
        site=make_site(world.org, "Cover Site"),
        member=world.members["staff"],
        starts_at=shift.starts_at + timedelta(hours=2),
    )
    _refused_restore(world, "shifts", shift, "already has a shift at Cover Site")
    # A shift with nobody on it clashes with nothing.
    _soft_delete(world.org, world.shifts["north"])
    assert (
        world.client("owner").post(_restore_url("shifts", world.shifts["north"].pk)).status_code
        == 302
    )
    assert _deleted_at(world.org, Shift, world.shifts["north"].pk) is None


def test_G6_D5_restoring_a_timesheet_that_overlaps_a_live_one_is_refused(world):
    owner = world.members["owner"]
    timesheet = make_timesheet(world.org, owner)
    _soft_delete(world.org, timesheet)
    make_timesheet(world.org, owner, timesheet.period_start + timedelta(days=3))
    _refused_restore(world, "timesheets", timesheet, "overlaps the member&#x27;s timesheet for")


def test_G6_a_rejected_leave_request_is_restored_whatever_overlaps_it(world):
    leave = world.leave["staff"]
    with tenant_context(world.org):
        approvable_status_set(record=leave, status=LeaveRequest.Status.REJECTED)
    _soft_delete(world.org, leave)
    make_leave(world.org, world.members["staff"], leave.starts_on)
    assert world.client("owner").post(_restore_url("leave", leave.pk)).status_code == 302
    assert _deleted_at(world.org, LeaveRequest, leave.pk) is None
