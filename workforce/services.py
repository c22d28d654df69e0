"""Every write to workforce data: one keyword-only function per use case, one transaction,
one audit event in that transaction (L1)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr

from audit.services import audit_event_record, changes_between, snapshot
from workforce.models import Department, Site

DEPARTMENT_FIELDS = ["name", "parent", "head"]
SITE_FIELDS = ["name", "address", "department"]


@transaction.atomic
def department_create(*, name: str, parent: Department | None = None) -> Department:
    department = Department(name=name.strip(), parent=parent)
    department.full_clean(exclude=["organization", "path"])
    department.save()
    # Z5: the path needs the new id, so it is written right after the insert.
    department.path = f"{parent.path if parent else '/'}{department.pk}/"
    Department.objects.filter(pk=department.pk).update(path=department.path)
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


@transaction.atomic
def department_move(*, department: Department, parent: Department | None) -> Department:
    """Moves a department (and everything below it) under ``parent``; refuses a move that
    would make a cycle. The whole subtree's paths change in one statement (Z5)."""
    department = Department.objects.select_for_update().get(pk=department.pk)
    if parent is not None:
        parent = Department.objects.select_for_update().get(pk=parent.pk)
        if parent.path.startswith(department.path):
            raise ValidationError(
                {"parent": "A department cannot move under itself or one of its own children."}
            )
    before = snapshot(department, DEPARTMENT_FIELDS)
    old_path = department.path
    new_path = f"{parent.path if parent else '/'}{department.pk}/"
    department.parent = parent
    department.full_clean(exclude=["organization", "path"])
    department.save(update_fields=["parent"])
    Department.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
    )
    department.path = new_path
    audit_event_record(
        action="department.moved",
        entity=department,
        changes=changes_between(before, snapshot(department, DEPARTMENT_FIELDS)),
    )
    return department


@transaction.atomic
def department_set_head(*, department: Department, head) -> Department:
    """Makes a member (or nobody) the head of a department; heads approve within its
    subtree (Z6)."""
    before = snapshot(department, DEPARTMENT_FIELDS)
    department.head = head
    department.save(update_fields=["head"])
    audit_event_record(
        action="department.head_changed",
        entity=department,
        changes=changes_between(before, snapshot(department, DEPARTMENT_FIELDS)),
    )
    return department
