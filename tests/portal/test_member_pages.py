"""Member management pages: a manager's correction of a member's attendance (D2, Z6, L1)
and a member's role and department (Z2, A10, L4), with their attacks: another
organisation's ids, a role without the permission, out-of-scope rows, self-service and
escalation by a crafted POST, each refused with a message and nothing changed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client as HttpClient

from accounts.models import UserSession
from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.models import Membership
from tests.domain import conftest as domain_conftest
from tests.domain.conftest import attended
from tests.factories import (
    make_membership,
    make_organization,
    make_shift,
    make_site,
    make_staff_profile,
    make_user,
)
from tests.portal.conftest import assert_csp_clean
from workforce.models import Attendance
from workforce.timekeeping import attendance_clock_in

pytestmark = pytest.mark.django_db

# The domain tests' fixture: a whole minute two hours from now.
soon = domain_conftest.soon
ORG = "/o/alpha"
SITES_API = "/api/v1/o/alpha/sites/"


def _signed_in(user) -> HttpClient:
    client = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


def _local(moment: datetime) -> str:
    """As a datetime-local field sends it (the organisation's time zone is UTC)."""
    return f"{moment:%Y-%m-%dT%H:%M}"


# --- attendance corrections -----------------------------------------------------------------


def _correct_url(attendance) -> str:
    return f"{ORG}/attendance/{attendance.pk}/correct/"


def _row(world, attendance) -> tuple:
    with tenant_context(world.org):
        row = Attendance.objects.get(pk=attendance.pk)
        corrections = AuditEvent.objects.filter(action="attendance.corrected").count()
    return row.clock_in_at, row.clock_out_at, row.status, corrections


def test_D2_a_manager_corrects_a_members_attendance_on_the_page(world, soon):
    attendance = attended(world, soon, late_by=30)
    with time_machine.travel(soon + timedelta(hours=10), tick=False):
        manager = world.client("manager")
        form = manager.get(_correct_url(attendance))
        assert form.status_code == 200
        assert_csp_clean(form)
        page = form.content.decode()
        for label in ("Clocked in at", "Clocked out at (empty if still at work)", "Why the"):
            assert label in page
        assert (
            'for="id_reason"' in page
            and f'value="{attendance.clock_in_at:%Y-%m-%dT%H:%M:%S}"' in page
        )
        done = manager.post(
            _correct_url(attendance),
            {
                "clock_in_at": _local(soon),
                "clock_out_at": _local(soon + timedelta(hours=8)),
                "reason": "The gate reader was down; the supervisor saw him arrive.",
            },
        )
        assert done.status_code == 302
        assert done["Location"] == f"{ORG}/shifts/{attendance.shift_id}/"
        shift_page = manager.get(done["Location"])
    assert "The attendance of staff@alpha.example is corrected." in shift_page.content.decode()
    clock_in, clock_out, status, _ = _row(world, attendance)
    assert (clock_in, clock_out, status) == (soon, soon + timedelta(hours=8), "on_time")
    with tenant_context(world.org):
        event = AuditEvent.objects.get(action="attendance.corrected")
    assert (event.actor_role, event.entity_id) == ("manager", str(attendance.pk))
    assert event.changes["reason"] == [
        None,
        "The gate reader was down; the supervisor saw him arrive.",
    ]
    assert event.changes["status"] == ["late", "on_time"]
    assert event.changes["clock_out_at"] == [None, str(soon + timedelta(hours=8))]


def test_Z4_attendance_outside_scope_or_of_another_organisation_is_404(world, soon):
    south = attended(world, soon, member="south_staff")
    bravo = make_organization("Bravo Care", "bravo")
    bravo_member = make_membership(bravo, make_user("bob@bravo.example"))
    bravo_shift = make_shift(
        bravo, site=make_site(bravo, "Bravo Site"), member=bravo_member, starts_at=soon
    )
    with time_machine.travel(soon, tick=False), tenant_context(bravo):
        bravo_attendance = attendance_clock_in(shift=bravo_shift, member=bravo_member)
    body = {"clock_in_at": _local(soon), "reason": "x"}
    with time_machine.travel(soon + timedelta(hours=10), tick=False):
        manager, owner = world.client("manager"), world.client("owner")
        # The manager's department scope is North and Leeds; South is not theirs.
        assert manager.get(_correct_url(south)).status_code == 404
        assert manager.post(_correct_url(south), body).status_code == 404
        # An id of another organisation is simply not here, even for an owner.
        assert owner.get(_correct_url(bravo_attendance)).status_code == 404
        assert owner.post(_correct_url(bravo_attendance), body).status_code == 404
    assert _row(world, south)[3] == 0
    with tenant_context(bravo):
        assert Attendance.objects.get().clock_in_at == soon


def test_Z1_roles_without_attendance_update_get_403(world, soon):
    attendance = attended(world, soon)
    admin_user = make_user("admin@alpha.example")
    make_membership(world.org, admin_user, role="admin")
    with time_machine.travel(soon + timedelta(hours=10), tick=False):
        for client in (world.client("staff"), world.client("client"), _signed_in(admin_user)):
            assert client.get(_correct_url(attendance)).status_code == 403
            refused = client.post(_correct_url(attendance), {"clock_in_at": _local(soon)})
            assert refused.status_code == 403
    assert _row(world, attendance)[3] == 0


def test_Z6_a_manager_cannot_correct_their_own_attendance_on_the_page(world, soon):
    own = attended(world, soon, member="manager", late_by=30)
    before = _row(world, own)
    with time_machine.travel(soon + timedelta(hours=10), tick=False):
        refused = world.client("manager").post(
            _correct_url(own), {"clock_in_at": _local(soon), "reason": "I was on time"}
        )
    assert refused.status_code == 400
    assert "You cannot correct your own attendance; ask your manager." in refused.content.decode()
    assert _row(world, own) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"clock_in_at": "soon", "reason": "x"}, "Enter a valid date/time."),
        ({"clock_in_at": 0}, "This field is required."),
        ({"clock_in_at": 0, "reason": "x" * 501}, "Ensure this value has at most 500 characters"),
        ({"clock_in_at": 2, "clock_out_at": 1, "reason": "x"}, "Clock-out must come after"),
        ({"clock_in_at": 11, "reason": "x"}, "Clock-in cannot be in the future."),
        ({"clock_in_at": -3, "reason": "x"}, "Clock-in must be between"),
    ],
)
def test_D2_bad_corrections_are_shown_next_to_the_form_with_nothing_changed(
    world, soon, body, message
):
    """Times in hours from the shift's start; the correction is made ten hours in."""
    attendance = attended(world, soon, late_by=30)
    before = _row(world, attendance)
    body = {
        name: _local(soon + timedelta(hours=value)) if isinstance(value, int) else value
        for name, value in body.items()
    }
    with time_machine.travel(soon + timedelta(hours=10), tick=False):
        refused = world.client("manager").post(_correct_url(attendance), body)
    assert refused.status_code == 400
    assert message in refused.content.decode()
    assert_csp_clean(refused)
    assert _row(world, attendance) == before


# --- a member's role ------------------------------------------------------------------------


@pytest.fixture
def admin_user(world):
    user = make_user("admin@alpha.example")
    make_membership(world.org, user, role="admin")
    return user


def _member(world, name: str) -> Membership:
    with tenant_context(world.org):
        return Membership.objects.select_related("role_definition").get(pk=world.members[name].pk)


def _role_url(membership) -> str:
    return f"{ORG}/people/{membership.pk}/role/"


def _role_changes(world) -> list[AuditEvent]:
    with tenant_context(world.org):
        return list(AuditEvent.objects.filter(action="membership.role_changed"))


def test_Z2_A10_L4_an_owner_makes_a_staff_member_a_manager_of_north(world):
    staff_session = world.client("staff")
    assert staff_session.get(SITES_API).status_code == 200
    owner = world.client("owner")
    people = owner.get(f"{ORG}/people/").content.decode()
    assert people.count("Change role") == len(world.members)
    staff = world.members["staff"]
    form = owner.get(_role_url(staff))
    assert form.status_code == 200
    assert_csp_clean(form)
    assert '<label for="id_role">Role</label>' in form.content.decode()
    north = world.departments["north"]
    done = owner.post(_role_url(staff), {"role": "manager", "department": north.pk})
    assert done.status_code == 302 and done["Location"] == f"{ORG}/people/"
    shown = owner.get(done["Location"]).content.decode()
    assert (
        "staff@alpha.example now has the department North and the role Manager. They sign in "
        "again to use it." in shown
    )
    changed = _member(world, "staff")
    assert (changed.role, changed.department_id) == ("manager", north.pk)
    # A10: the member's session is over on its very next request.
    ended = staff_session.get(SITES_API)
    assert ended.status_code == 401 and ended.json()["code"] == "session_ended"
    assert UserSession.objects.filter(
        user=world.users["staff"], end_reason=UserSession.EndReason.ROLE_CHANGED
    ).exists()
    # L4: the role-change trail has it, with who made it.
    trail = owner.get("/api/v1/o/alpha/audit/trails/roles/").json()["results"]
    mine = [
        e for e in trail if e["entity_id"] == str(staff.pk) and e["action"] != "membership.created"
    ]
    assert {(e["action"], e["actor_role"]) for e in mine} == {
        ("membership.assignment_changed", "owner"),
        ("membership.role_changed", "owner"),
    }
    assert next(e for e in mine if e["action"] == "membership.role_changed")["changes"] == {
        "role": ["staff", "manager"]
    }


def test_Z2_an_admin_is_offered_only_the_roles_they_may_give(world, admin_user):
    """Admins administer but approve nothing and see no pay (Z2): the manager and client
    roles carry approvals, the owner ranks above them, guests are granted with an end."""
    admin = _signed_in(admin_user)
    page = admin.get(_role_url(world.members["staff"])).content.decode()
    offered = page[page.index('id="id_role"') : page.index("</select>")]
    assert '"admin"' in offered and '"staff"' in offered
    for refused in ("owner", "manager", "client", "auditor", "board_guest"):
        assert f'"{refused}"' not in offered
    # A manager is offered their own role (keeping it is no escalation) and may be demoted.
    manager_page = admin.get(_role_url(world.members["manager"])).content.decode()
    assert 'value="manager" selected' in manager_page
    done = admin.post(_role_url(world.members["manager"]), {"role": "staff", "department": ""})
    assert done.status_code == 302
    assert _member(world, "manager").role == "staff"
    assert _member(world, "manager").department_id is None


def test_Z2_escalation_by_crafted_posts_is_refused_and_nothing_changes(world, admin_user):
    admin = _signed_in(admin_user)
    with tenant_context(world.org):
        admin_member = Membership.objects.get(user=admin_user)
    north = world.departments["north"].pk
    attempts = [
        # A role above the admin's own, and one carrying approvals they do not hold.
        (admin, world.members["staff"], {"role": "owner"}, "Select a valid choice."),
        (admin, world.members["staff"], {"role": "manager"}, "Select a valid choice."),
        # A member ranked above them.
        (
            admin,
            world.members["owner"],
            {"role": "staff"},
            "You cannot change a member whose role (Owner) ranks above yours.",
        ),
        # Their own role; the department change made first is rolled back with it.
        (
            admin,
            admin_member,
            {"role": "staff", "department": north},
            "You cannot change your own role.",
        ),
        # The only owner demoting themselves (the last owner is never left without one).
        (
            world.client("owner"),
            world.members["owner"],
            {"role": "admin"},
            "You cannot change your own role.",
        ),
    ]
    with tenant_context(world.org):
        before = {m.pk: (m.role, m.department_id) for m in Membership.objects.all()}
    for client, member, body, message in attempts:
        refused = client.post(_role_url(member), {"department": "", **body})
        assert refused.status_code == 400, (member, body)
        assert message in refused.content.decode(), (member, body)
    with tenant_context(world.org):
        after = {m.pk: (m.role, m.department_id) for m in Membership.objects.all()}
    assert after == before
    assert _role_changes(world) == []
    assert not UserSession.objects.filter(ended_at__isnull=False).exists()


def test_Z2_another_organisations_member_is_404(world):
    bravo = make_organization("Bravo Care", "bravo")
    outsider = make_membership(bravo, make_user("bob@bravo.example"))
    owner = world.client("owner")
    assert owner.get(_role_url(outsider)).status_code == 404
    assert owner.post(_role_url(outsider), {"role": "staff"}).status_code == 404
    with tenant_context(bravo):
        assert Membership.objects.get().role == "staff"


def test_Z1_roles_without_user_manage_get_403_and_no_links(world):
    for role in ("manager", "staff", "client"):
        client = world.client(role)
        assert client.get(_role_url(world.members["staff"])).status_code == 403
        assert client.post(_role_url(world.members["staff"]), {"role": "owner"}).status_code == 403
    assert "Change role" not in world.client("manager").get(f"{ORG}/people/").content.decode()
    assert _member(world, "staff").role == "staff"


# --- a member's page (D1, L5, E3) -----------------------------------------------------------

BANK = "GB29NWBK60161331926819"
NI = "QQ123456C"


def _page_url(membership) -> str:
    return f"{ORG}/people/{membership.pk}/"


def _sensitive_reads(world) -> list[AuditEvent]:
    with tenant_context(world.org):
        return list(AuditEvent.objects.filter(action="staffprofile.sensitive_viewed"))


@pytest.fixture
def profiled(world) -> Membership:
    """The staff member, with contact and bank details on their profile."""
    staff = world.members["staff"]
    make_staff_profile(
        world.org,
        staff,
        phone="+44 113 496 0000",
        address="1 Leeds Road",
        bank_account=BANK,
        national_insurance=NI,
    )
    return staff


def test_D1_L5_people_rows_link_to_each_members_page(world, profiled):
    owner = world.client("owner")
    people = owner.get(f"{ORG}/people/").content.decode()
    assert f'href="{_page_url(profiled)}">staff@alpha.example</a>' in people
    response = owner.get(_page_url(profiled))
    assert response.status_code == 200
    html = response.content.decode()
    for shown in ("staff@alpha.example", "Staff", "Leeds", "Active", "+44 113 496 0000"):
        assert shown in html, shown
    assert "1 Leeds Road" in html
    assert f'href="{_role_url(profiled)}"' in html
    assert "Leave in " in html and "28.0 days" in html
    # L5: the membership's own history.
    assert "Membership: created" in html
    assert_csp_clean(response)


def test_E3_L1_the_owner_sees_bank_details_only_on_asking_and_the_read_is_audited(world, profiled):
    owner = world.client("owner")
    opened = owner.get(_page_url(profiled)).content.decode()
    assert "Show bank details" in opened and BANK not in opened and NI not in opened
    assert _sensitive_reads(world) == []
    shown = owner.post(_page_url(profiled))
    assert shown.status_code == 200
    html = shown.content.decode()
    assert BANK in html and NI in html and "Show bank details" not in html
    assert "no-store" in shown["Cache-Control"]
    [read] = _sensitive_reads(world)
    assert read.changes == {
        "member": [None, profiled.pk],
        "viewer": [None, world.members["owner"].pk],
    }
    assert_csp_clean(shown)


def test_E3_the_member_sees_their_own_bank_details_without_user_view_and_unrecorded(
    world, profiled
):
    staff = world.client("staff")
    assert staff.get(f"{ORG}/people/").status_code == 403
    response = staff.get(_page_url(profiled))
    assert response.status_code == 200
    html = response.content.decode()
    assert BANK in html and NI in html and "1 Leeds Road" in html
    assert "no-store" in response["Cache-Control"]
    assert f"{_role_url(profiled)}" not in html and f'href="{ORG}/people/"' not in html
    assert _sensitive_reads(world) == []
    assert_csp_clean(response)


def test_E3_Z7_who_may_open_a_page_but_not_receive_bank_details_is_refused_them(
    world, profiled, admin_user
):
    admin = _signed_in(admin_user)
    html = admin.get(_page_url(profiled)).content.decode()
    assert "1 Leeds Road" in html
    assert BANK not in html and "Show bank details" not in html
    # Admins see no pay (Z2): no leave balance either, leave is not theirs.
    assert "Leave in " not in html
    refused = admin.post(_page_url(profiled))
    assert refused.status_code == 403 and BANK not in refused.content.decode()
    assert _sensitive_reads(world) == []


def test_Z4_staff_opening_another_members_page_get_404(world, profiled):
    staff = world.client("staff")
    for other in ("owner", "south_staff", "manager"):
        assert staff.get(_page_url(world.members[other])).status_code == 404
        assert staff.post(_page_url(world.members[other])).status_code == 404
    client = world.client("client")
    assert client.get(_page_url(profiled)).status_code == 404
    assert _sensitive_reads(world) == []


def test_T1_another_organisations_member_page_is_404(world):
    bravo = make_organization("Bravo Care", "bravo")
    outsider = make_membership(bravo, make_user("bob@bravo.example"))
    owner = world.client("owner")
    assert owner.get(_page_url(outsider)).status_code == 404
    assert owner.post(_page_url(outsider)).status_code == 404
    intruder = make_user("intruder@bravo.example")
    make_membership(bravo, intruder, role="owner")
    assert (
        _signed_in(intruder).get(f"/o/bravo/people/{world.members['staff'].pk}/").status_code == 404
    )
    assert _sensitive_reads(world) == []


def test_D1_markup_in_a_profile_field_is_shown_as_text(world):
    staff = world.members["staff"]
    make_staff_profile(world.org, staff, address="<script>alert(1)</script>")
    response = world.client("owner").get(_page_url(staff))
    html = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert_csp_clean(response)


def test_D1_a_member_without_a_profile_has_dashes_and_no_bank_section(world):
    response = world.client("owner").get(_page_url(world.members["manager"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "manager@alpha.example" in html and "North" in html
    assert "Bank and national-insurance details" not in html
