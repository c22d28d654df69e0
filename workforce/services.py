"""Every write to workforce data: one keyword-only function per use case, one transaction,
one audit event in that transaction (L1)."""

from django.db import transaction

from audit.services import audit_event_record, changes_between, snapshot
from workforce.models import Department, Site

DEPARTMENT_FIELDS = ["name", "parent"]
SITE_FIELDS = ["name", "address", "department"]


@transaction.atomic
def department_create(*, name: str, parent: Department | None = None) -> Department:
    department = Department(name=name.strip(), parent=parent)
    department.full_clean(exclude=["organization"])
    department.save()
    audit_event_record(
        action="department.created",
        entity=department,
        changes=changes_between({}, snapshot(department, DEPARTMENT_FIELDS)),
    )
    return department


@transaction.atomic
def site_create(*, name: str, address: str = "", department: Department | None = None) -> Site:
    site = Site(name=name.strip(), address=address.strip(), department=department)
    site.full_clean(exclude=["organization"])
    site.save()
    audit_event_record(
        action="site.created", entity=site, changes=changes_between({}, snapshot(site, SITE_FIELDS))
    )
    return site
