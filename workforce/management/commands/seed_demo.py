"""Demo data for exploring every portal (O2): never in production.

Two organisations, each with a department tree, sites, clients, designations, 50 staff with
their profiles, one member per default role, a month of shifts around today with the
attendance of its past half (on time, late, and a few missed), leave, timesheets built from
that attendance, expenses, staff documents (some expired or expiring soon, one shared with
the client contact and one with the board guest) and contracts, all written through the
services (so the audit log reads like real use). Running it again resets the demo users'
password and adds nothing twice (an organisation that exists is left alone)."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_create
from rbac.approvals import record_approve
from rbac.grants import document_share
from tenants.context import tenant_context
from tenants.models import Membership, Organization
from tenants.services import (
    guest_access_grant,
    membership_assign,
    membership_create,
    organization_create,
)
from workforce.documents import issued_document_create
from workforce.models import Department, IssuedDocument, Shift, Site
from workforce.people import designation_create, staff_profile_update
from workforce.services import (
    client_create,
    department_create,
    department_set_head,
    document_create,
    expense_create,
    leave_request_create,
    shift_create,
    site_create,
)
from workforce.timekeeping import (
    MISSED_LOOKBACK,
    attendance_clock_in,
    attendance_clock_out,
    attendance_mark_missed,
    timesheet_build,
)

DEMO_DOMAIN = "demo.palisade.invalid"
STAFF_PER_ORGANIZATION = 50
DAYS_BACK, DAYS_AHEAD = 15, 15
FIRST_NAMES = ["Amara", "Ben", "Chloe", "Dev", "Elif", "Finn", "Grace", "Hamza", "Isla", "Jon"]
LAST_NAMES = ["Adeyemi", "Brown", "Clarke", "Dubois", "Evans", "Fischer", "Gupta", "Hughes"]

# slug: (name, {top department: {child department: [sites]}}, clients, (bill, pay) rates)
ORGANIZATIONS = {
    "acme-security": (
        "Acme Security",
        {
            "Operations": {"North": ["Harbour Gate", "North Depot"], "South": ["Southside Mall"]},
            "Events": {"Arenas": ["City Arena"]},
        },
        ["Harbour Authority", "City Arena Ltd", "Southside Retail"],
        (Decimal("24.50"), Decimal("14.20")),
    ),
    "brightside-care": (
        "Brightside Care",
        {"Residential": {"East": ["Elm House"], "West": ["Oak Lodge", "Pine Court"]}},
        ["County Council", "Private clients"],
        (Decimal("29.00"), Decimal("16.75")),
    ),
}
ROLE_USERS = ("owner", "admin", "manager", "staff", "client", "auditor", "board_guest")
# The organisation's job titles; staff hold them in turn.
DESIGNATIONS = {
    "acme-security": ("Door supervisor", "CCTV operator", "Steward"),
    "brightside-care": ("Care assistant", "Senior carer"),
}
# The licence every member of the organisation's staff must hold, with an expiry.
LICENCES = {
    "acme-security": "SIA door supervisor licence",
    "brightside-care": "Enhanced DBS certificate",
}
EXPENSES = [
    ("Taxi home after a late finish", Decimal("18.40")),
    ("Mileage between sites, 42 miles", Decimal("18.90")),
    ("Parking for the evening shift", Decimal("7.50")),
    ("First aid kit restock", Decimal("23.15")),
]


class Command(BaseCommand):
    help = "Seed demo organisations, people and a month of work (dev only, O2)."

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("Demo data is never loaded in production (O2).")
        password = secrets.token_urlsafe(12)
        signins = []
        for slug, spec in ORGANIZATIONS.items():
            if Organization.objects.filter(slug=slug).exists():
                signins += [(slug, role, self._email(role, slug)) for role in ROLE_USERS]
                continue
            with transaction.atomic():
                signins += _Seeder(slug, *spec, password=password, out=self.stdout).run()
        for user in User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}"):
            user.set_password(password)
            user.save(update_fields=["password"])
        self.stdout.write("Demo data ready. Sign in at http://app.localhost:8000/ as any of:")
        for slug, role, email in signins:
            self.stdout.write(f"  {slug:16} {role:12} {email}")
        self.stdout.write(f"password (all of them): {password}")
        self.stdout.write(
            f"Client contacts use http://{settings.CLIENT_HOST}:8000/ "
            "(a new password is set every run)."
        )

    @staticmethod
    def _email(role: str, slug: str) -> str:
        return f"{role}.{slug}@{DEMO_DOMAIN}"


class _Seeder:
    def __init__(self, slug, name, tree, clients, rates, *, password, out):
        self.slug, self.name, self.tree, self.client_names = slug, name, tree, clients
        self.bill_rate, self.pay_rate = rates
        self.password, self.out = password, out
        # The same demo every time; nothing secret is drawn from it.
        self.random = random.Random(slug)  # noqa: S311

    def run(self) -> list[tuple[str, str, str]]:
        organization = organization_create(name=self.name, slug=self.slug)
        with tenant_context(organization):
            leaves = self._departments()
            sites = [
                site_create(name=site, department=department, address=f"{site}\nDemo Street 1")
                for department, names in leaves
                for site in names
            ]
            clients = [client_create(name=name) for name in self.client_names]
            members = self._role_members(leaves, clients)
            staff = [members["staff"], *self._staff(leaves)]
            self._profiles(staff)
            self._shifts(sites, clients, staff)
            self._attendance()
            self._leave_and_timesheets(staff, members["manager"])
            self._expenses(staff, members["owner"])
            self._documents(staff, members)
        self.out.write(f"  {self.name}: {len(sites)} sites, {len(staff)} staff")
        return [(self.slug, role, Command._email(role, self.slug)) for role in ROLE_USERS]

    def _departments(self) -> list[tuple[Department, list[str]]]:
        leaves = []
        for top_name, children in self.tree.items():
            top = department_create(name=top_name)
            for child_name, site_names in children.items():
                leaves.append((department_create(name=child_name, parent=top), site_names))
        return leaves

    def _user(self, email: str, full_name: str) -> User:
        return User.objects.filter(email=email).first() or user_create(
            email=email, password=self.password, full_name=full_name
        )

    def _role_members(self, leaves, clients) -> dict[str, Membership]:
        first_department = leaves[0][0]
        top = Department.objects.get(pk=first_department.parent_id)
        members = {}
        now = timezone.now()
        for role in ROLE_USERS:
            user = self._user(Command._email(role, self.slug), f"Demo {role.replace('_', ' ')}")
            if role in ("auditor", "board_guest"):
                members[role] = guest_access_grant(
                    user=user, role=role, valid_from=now, valid_until=now + timedelta(days=90)
                )
                continue
            members[role] = membership_create(user=user, role=role)
        membership_assign(membership=members["manager"], department=top, client=None)
        membership_assign(membership=members["staff"], department=first_department, client=None)
        membership_assign(membership=members["client"], department=None, client=clients[0])
        department_set_head(department=top, head=members["manager"])
        department_set_head(department=first_department, head=members["manager"])
        return members

    def _staff(self, leaves) -> list[Membership]:
        staff = []
        for n in range(STAFF_PER_ORGANIZATION - 1):
            name = f"{self.random.choice(FIRST_NAMES)} {self.random.choice(LAST_NAMES)}"
            user = self._user(f"staff{n:02d}.{self.slug}@{DEMO_DOMAIN}", name)
            membership = membership_create(user=user, role="staff")
            department = leaves[n % len(leaves)][0]
            staff.append(
                membership_assign(membership=membership, department=department, client=None)
            )
        return staff

    def _profiles(self, staff: list[Membership]) -> None:
        """Each member's designation and a (fictional, Ofcom drama range) phone number."""
        designations = [designation_create(name=name) for name in DESIGNATIONS[self.slug]]
        for n, member in enumerate(staff):
            staff_profile_update(
                member=member,
                designation=designations[n % len(designations)],
                phone=f"0113 496 {n:04d}",
            )

    def _shifts(self, sites: list[Site], clients, staff: list[Membership]) -> None:
        today = timezone.localdate()
        by_department: dict[int, list[Site]] = {}
        for site in sites:
            by_department.setdefault(site.department_id, []).append(site)
        for offset in range(-DAYS_BACK, DAYS_AHEAD):
            day = today + timedelta(days=offset)
            for n, member in enumerate(staff):
                if (n + offset) % 2:  # every other day each
                    continue
                site = self.random.choice(by_department[member.department_id])
                starts = timezone.make_aware(datetime.combine(day, time(7 + n % 3 * 4)))
                shift_create(
                    site=site,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=8),
                    bill_rate=self.bill_rate,
                    pay_rate=self.pay_rate,
                    member=member,
                    client=clients[n % len(clients)],
                )

    def _attendance(self) -> None:
        """Clock-ins and clock-outs of every shift that has started, as the members' own
        punches entered at their times: mostly on time, some late; a few shifts of the last
        days nobody attended, which the missed-attendance check then marks."""
        now = timezone.now()
        started = Shift.objects.filter(starts_at__lte=now).select_related("member")
        for shift in started.order_by("starts_at", "id"):
            draw = self.random.random()
            recent = shift.ends_at > now - MISSED_LOOKBACK
            if draw < 0.05 and recent and shift.ends_at <= now:
                continue  # missed
            late = draw < 0.15
            clock_in = shift.starts_at + timedelta(
                minutes=self.random.randint(6, 25) if late else -self.random.randint(0, 12)
            )
            if clock_in > now:
                continue  # about to start: not in yet
            attendance_clock_in(shift=shift, member=shift.member, at=clock_in)
            clock_out = shift.ends_at + timedelta(minutes=self.random.randint(0, 15))
            if clock_out <= now:
                attendance_clock_out(shift=shift, member=shift.member, at=clock_out)
        attendance_mark_missed()

    @staticmethod
    def _approver(member: Membership) -> Membership:
        """``member`` as approvals read it: with their role and department loaded."""
        return Membership.objects.select_related("role_definition", "department").get(pk=member.pk)

    def _leave_and_timesheets(self, staff: list[Membership], manager: Membership) -> None:
        manager = self._approver(manager)
        today = timezone.localdate()
        # Leave of the manager's own department tree, so they can decide it.
        team = Department.objects.filter(path__startswith=manager.department.path)
        in_team = [m for m in staff if m.department_id in set(team.values_list("id", flat=True))]
        for n, member in enumerate(in_team[:10]):
            start = today + timedelta(days=20 + n)
            leave = leave_request_create(
                member=member, starts_on=start, ends_on=start + timedelta(days=n % 3)
            )
            if n % 2 == 0:
                record_approve(record=leave, approver=manager)
        # The last fortnight's timesheets, made from the attendance above; each member's
        # shifts are all for one client, so the demo client contact has hours to confirm.
        period_end = today - timedelta(days=1)
        period_start = period_end - timedelta(days=13)
        for member in staff[:20]:
            try:
                timesheet_build(member=member, period_start=period_start, period_end=period_end)
            except ValidationError:
                continue  # missed every shift of the fortnight: nothing to put on a timesheet

    def _expenses(self, staff: list[Membership], owner: Membership) -> None:
        """Some claims waiting for a decision, some already approved by the owner."""
        owner = self._approver(owner)
        for n, member in enumerate(staff[:12]):
            description, amount = EXPENSES[n % len(EXPENSES)]
            expense = expense_create(member=member, amount=amount, description=description)
            if n % 3 == 0:
                record_approve(record=expense, approver=owner)

    def _documents(self, staff: list[Membership], members: dict[str, Membership]) -> None:
        """Every staff member's licence, with expiries spread so that some have expired and
        some expire within the month (the dashboard and the reminders show them); first aid
        certificates for some; contracts for the first ten. The demo staff member's licence
        is shared with the client contact, an annual report with the board guest."""
        today = timezone.localdate()
        licences = []
        for n, member in enumerate(staff):
            if n % 10 == 1:
                expires_on = today - timedelta(days=3 + n % 20)
            elif n % 10 in (2, 3):
                expires_on = today + timedelta(days=4 + n % 25)
            else:
                expires_on = today + timedelta(days=90 + 13 * n)
            licences.append(
                document_create(
                    member=member,
                    title=LICENCES[self.slug],
                    expires_on=expires_on,
                    internal_notes="Renewal applied for." if n % 10 == 2 else "",
                )
            )
            if n % 3 == 0:
                document_create(
                    member=member,
                    title="First aid at work certificate",
                    expires_on=today + timedelta(days=200 + 7 * n),
                )
            if n < 10:
                issued_document_create(
                    member=member,
                    kind=IssuedDocument.Kind.CONTRACT,
                    title="Contract of employment",
                    body=f"This contract sets out the terms of your employment with {self.name}: "
                    "hours as rostered, pay at the rates on each shift, 28 days of leave a year.",
                )
        owner = members["owner"]
        report = document_create(member=owner, title=f"{self.name}: annual report {today.year}")
        document_share(document=licences[0], user=members["client"].user, granted_by=owner)
        document_share(document=report, user=members["board_guest"].user, granted_by=owner)
