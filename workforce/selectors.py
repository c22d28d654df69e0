"""Reads of workforce data. Every selector takes the requesting membership and returns a
queryset already narrowed to what it may see: the organisation (tenant manager and RLS, T1,
T2), the role's visibility scope for the module (Z4, ``rbac.scopes``), live rows only (G6).
Fields the request may not receive (Z7, ``rbac.fields``) are not even loaded: they are
deferred, and ``margin`` is computed only for those who may see it.

Each list loads everything its serializer shows in the same query (``select_related``, or
for shifts the related names as scalar subqueries), so a page of 10 rows and a page of 200
cost the same number of queries. ``access_<entity>`` is the
same queryset by id: a row outside the member's scope, deleted, or of another organisation
is a 404, never a 403 that would confirm it exists.
"""

from collections.abc import Collection

from django.db.models import CharField, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.shortcuts import get_object_or_404

from rbac.registry import ALL, DEPARTMENT
from rbac.scopes import in_department_subtree, scope_of, visible
from tenants.models import Membership
from workforce.models import (
    Client,
    Department,
    Designation,
    Document,
    Expense,
    LeaveRequest,
    Shift,
    Site,
    Timesheet,
)

# The stored fields field separation may withhold (``margin`` is derived, never stored).
STORED_GUARDED_FIELDS = ("bill_rate", "pay_rate", "internal_notes")
MEMBER = ("member__user",)


def _rows(model, deleted: bool) -> QuerySet:
    """Live rows (G6: the default), or with ``deleted`` the soft-deleted ones only, for the
    admins' deleted lists and restores."""
    if deleted:
        return model.all_objects.filter(deleted_at__isnull=False)
    return model.objects.all()


def _in_order(queryset: QuerySet, deleted: bool, *order: str) -> QuerySet:
    # Deleted lists show the most recently deleted first.
    return queryset.order_by("-deleted_at", "-id") if deleted else queryset.order_by(*order)


def sites_list(*, deleted: bool = False) -> QuerySet[Site]:
    """Sites of the current organisation, with their department in the same query."""
    return _in_order(_rows(Site, deleted).select_related("department"), deleted, "name", "id")


def access_site(site_id: int) -> Site:
    return get_object_or_404(sites_list(), pk=site_id)


def _without(queryset: QuerySet, withheld: Collection[str]) -> QuerySet:
    stored = {field.name for field in queryset.model._meta.concrete_fields}
    deferred = [name for name in STORED_GUARDED_FIELDS if name in withheld and name in stored]
    return queryset.defer(*deferred) if deferred else queryset


def _name_of(model, column: str) -> Subquery:
    """The name of the row ``column`` refers to, deleted or not (as a join would show it)."""
    rows = getattr(model, "all_objects", model.objects)
    return Subquery(rows.filter(pk=OuterRef(column)).values("name")[:1])


def _member_name() -> Subquery:
    """The assigned member's full name, or their email when they have none."""
    name = Coalesce(NullIf("user__full_name", Value("")), "user__email", output_field=CharField())
    return Subquery(Membership.objects.filter(pk=OuterRef("member_id")).values(name=name)[:1])


def shifts_for(
    membership: Membership, withheld: Collection[str], *, deleted: bool = False
) -> QuerySet[Shift]:
    """Shifts with the names of their site, client, department, designation and member as
    ``<relation>_name`` (the ids are the shift's own columns). Names come from scalar
    subqueries, not joins: PostgreSQL spends ~5 ms planning the seven-relation join (each
    with its RLS policy) on every request, against ~0.2 ms for these (bench/workforce_scale.py).
    """
    shifts = _without(
        _rows(Shift, deleted).annotate(
            site_name=_name_of(Site, "site_id"),
            client_name=_name_of(Client, "client_id"),
            department_name=_name_of(Department, "department_id"),
            designation_name=_name_of(Designation, "designation_id"),
            member_name=_member_name(),
        ),
        withheld,
    )
    if "margin" not in withheld:
        shifts = shifts.annotate(margin=F("bill_rate") - F("pay_rate"))
    return _in_order(visible(shifts, "shift", membership), deleted, "starts_at", "id")


def access_shift(membership: Membership, withheld: Collection[str], shift_id: int) -> Shift:
    return get_object_or_404(shifts_for(membership, withheld), pk=shift_id)


def leave_requests_for(membership: Membership, *, deleted: bool = False) -> QuerySet[LeaveRequest]:
    leave = _rows(LeaveRequest, deleted).select_related("department", *MEMBER)
    return _in_order(visible(leave, "leave", membership), deleted, "-starts_on", "-id")


def access_leave_request(membership: Membership, leave_id: int) -> LeaveRequest:
    return get_object_or_404(leave_requests_for(membership), pk=leave_id)


def expenses_for(membership: Membership, *, deleted: bool = False) -> QuerySet[Expense]:
    expenses = _rows(Expense, deleted).select_related("department", *MEMBER)
    return _in_order(visible(expenses, "expense", membership), deleted, "-created_at", "-id")


def access_expense(membership: Membership, expense_id: int) -> Expense:
    return get_object_or_404(expenses_for(membership), pk=expense_id)


def timesheets_for(membership: Membership, *, deleted: bool = False) -> QuerySet[Timesheet]:
    timesheets = _rows(Timesheet, deleted).select_related("department", *MEMBER)
    return _in_order(visible(timesheets, "timesheet", membership), deleted, "-period_start", "-id")


def access_timesheet(membership: Membership, timesheet_id: int) -> Timesheet:
    return get_object_or_404(timesheets_for(membership), pk=timesheet_id)


def documents_for(
    membership: Membership, withheld: Collection[str], *, deleted: bool = False
) -> QuerySet[Document]:
    documents = _without(_rows(Document, deleted).select_related("department", *MEMBER), withheld)
    return _in_order(visible(documents, "document", membership), deleted, "title", "id")


def access_document(
    membership: Membership, withheld: Collection[str], document_id: int
) -> Document:
    return get_object_or_404(documents_for(membership, withheld), pk=document_id)


def clients_for(withheld: Collection[str], *, deleted: bool = False) -> QuerySet[Client]:
    """Every live client of the organisation: clients are not a scoped module, who may list
    them is the ``client.view`` permission's decision."""
    return _in_order(_without(_rows(Client, deleted), withheld), deleted, "name", "id")


def access_client(withheld: Collection[str], client_id: int) -> Client:
    return get_object_or_404(clients_for(withheld), pk=client_id)


def departments_list() -> QuerySet[Department]:
    """The whole tree (Z5), each department with its head; ordered by path, so every
    department comes right after its parent's subtree begins."""
    return Department.objects.select_related("head__user").order_by("path", "id")


def access_department(department_id: int) -> Department:
    return get_object_or_404(departments_list(), pk=department_id)


# What a member may attach a new record to (Z4): a department-scoped manager creates work only
# where they can see it afterwards, so nobody writes into a part of the organisation they are
# not responsible for.


def sites_in_scope(membership: Membership, module: str) -> QuerySet[Site]:
    scope = scope_of(membership, module)
    if scope == ALL:
        return Site.objects.all()
    if scope == DEPARTMENT:
        return Site.objects.filter(in_department_subtree(membership))
    return Site.objects.none()


def members_in_scope(membership: Membership, module: str) -> QuerySet[Membership]:
    """Active members whose records the member would see in ``module``: everyone, those of
    their department subtree, or only themselves."""
    members = Membership.objects.active()
    scope = scope_of(membership, module)
    if scope == ALL:
        return members
    own = Q(pk=membership.pk)
    if scope == DEPARTMENT:
        return members.filter(own | in_department_subtree(membership))
    return members.filter(own)


def active_members() -> QuerySet[Membership]:
    return Membership.objects.active()


def departments_named(name: str, parent: Department | None) -> QuerySet[Department]:
    """Departments called ``name`` directly under ``parent`` (names are unique per parent)."""
    return Department.objects.filter(parent=parent, name=name)
