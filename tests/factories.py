"""Test data built through the service layer, so tests exercise the same write path as the
product."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from accounts.services import user_create
from tenants.context import tenant_context
from tenants.models import Membership, Organization
from tenants.services import membership_create, organization_create
from workforce.models import (
    Client,
    Department,
    Document,
    Expense,
    LeaveRequest,
    Shift,
    Site,
    Timesheet,
)
from workforce.services import (
    client_create,
    department_create,
    document_create,
    expense_create,
    leave_request_create,
    shift_create,
    site_create,
    timesheet_create,
)

TEST_PASSWORD = "correct horse battery staple 42"


def make_organization(name: str, slug: str) -> Organization:
    return organization_create(name=name, slug=slug)


def make_user(email: str) -> User:
    return user_create(email=email, password=TEST_PASSWORD)


def make_membership(org: Organization, user: User, **fields) -> Membership:
    with tenant_context(org):
        membership = membership_create(user=user)
        if fields:
            for name, value in fields.items():
                setattr(membership, name, value)
            membership.save()
        return membership


def make_sites(org: Organization, count: int, prefix: str = "Site") -> list[Site]:
    with tenant_context(org):
        return [site_create(name=f"{prefix} {i:04d}") for i in range(count)]


def make_department(org: Organization, name: str, parent: Department | None = None) -> Department:
    with tenant_context(org):
        return department_create(name=name, parent=parent)


def make_site(org: Organization, name: str, department: Department | None = None) -> Site:
    with tenant_context(org):
        return site_create(name=name, department=department)


def make_client(org: Organization, name: str, internal_notes: str = "") -> Client:
    with tenant_context(org):
        return client_create(name=name, internal_notes=internal_notes)


def make_shifts(
    org: Organization,
    count: int,
    *,
    site: Site,
    member: Membership | None = None,
    client: Client | None = None,
    bill_rate: Decimal | str = "30.00",
    pay_rate: Decimal | str = "20.00",
    internal_notes: str = "",
    starts_at: datetime | None = None,
) -> list[Shift]:
    """``count`` eight-hour shifts at ``site`` (in its department), a day apart."""
    first = starts_at or timezone.now().replace(microsecond=0) + timedelta(days=1)
    with tenant_context(org):
        return [
            shift_create(
                site=site,
                member=member,
                client=client,
                starts_at=first + timedelta(days=i),
                ends_at=first + timedelta(days=i, hours=8),
                bill_rate=Decimal(bill_rate),
                pay_rate=Decimal(pay_rate),
                internal_notes=internal_notes,
            )
            for i in range(count)
        ]


def make_shift(org: Organization, *, site: Site, **fields) -> Shift:
    return make_shifts(org, 1, site=site, **fields)[0]


def make_leave(
    org: Organization,
    member: Membership,
    starts_on: date | None = None,
    ends_on: date | None = None,
    reason: str = "",
) -> LeaveRequest:
    starts_on = starts_on or timezone.localdate() + timedelta(days=7)
    with tenant_context(org):
        return leave_request_create(
            member=member, starts_on=starts_on, ends_on=ends_on or starts_on, reason=reason
        )


def make_expense(
    org: Organization,
    member: Membership,
    amount: Decimal | str = "12.50",
    description: str = "Taxi to site",
) -> Expense:
    with tenant_context(org):
        return expense_create(member=member, amount=Decimal(amount), description=description)


def make_timesheet(
    org: Organization,
    member: Membership,
    period_start: date | None = None,
    hours: Decimal | str = "37.50",
    amount: Decimal | str = "750.00",
    client: Client | None = None,
) -> Timesheet:
    period_start = period_start or timezone.localdate() - timedelta(days=7)
    with tenant_context(org):
        return timesheet_create(
            member=member,
            period_start=period_start,
            period_end=period_start + timedelta(days=6),
            hours=Decimal(hours),
            amount=Decimal(amount),
            client=client,
        )


def make_document(
    org: Organization,
    member: Membership,
    title: str = "Contract",
    expires_on: date | None = None,
    internal_notes: str = "",
) -> Document:
    with tenant_context(org):
        return document_create(
            member=member, title=title, expires_on=expires_on, internal_notes=internal_notes
        )


def make_designation(org: Organization, name: str):
    from workforce.people import designation_create

    with tenant_context(org):
        return designation_create(name=name)


def make_staff_profile(org: Organization, member: Membership, **fields):
    from workforce.people import staff_profile_update

    with tenant_context(org):
        return staff_profile_update(member=member, **fields)


def make_issued_document(
    org: Organization,
    member: Membership,
    kind: str = "letter",
    title: str = "Welcome letter",
    body: str = "Welcome aboard.",
):
    from workforce.documents import issued_document_create

    with tenant_context(org):
        return issued_document_create(member=member, kind=kind, title=title, body=body)
