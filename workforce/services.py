"""Every write to workforce data: one keyword-only function per use case, one transaction.

Audit events are added by the audit issue (L1); until then these functions are the single
place they will be recorded.
"""

from django.db import transaction

from workforce.models import Department, Site


@transaction.atomic
def department_create(*, name: str, parent: Department | None = None) -> Department:
    department = Department(name=name.strip(), parent=parent)
    department.full_clean()
    department.save()
    return department


@transaction.atomic
def site_create(*, name: str, address: str = "", department: Department | None = None) -> Site:
    site = Site(name=name.strip(), address=address.strip(), department=department)
    site.full_clean(exclude=["organization"])
    site.save()
    return site
