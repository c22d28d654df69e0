"""Test data built through the service layer, so tests exercise the same write path as the
product."""

from __future__ import annotations

from accounts.models import User
from accounts.services import user_create
from tenants.context import tenant_context
from tenants.models import Membership, Organization
from tenants.services import membership_create, organization_create
from workforce.models import Department, Site
from workforce.services import department_create, site_create

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
