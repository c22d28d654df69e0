"""The organisation context: one ContextVar in Python, one transaction-local setting in SQL.

T1/T2/T5: the context is entered once per request (middleware) or job (task base class) and
nowhere else. Inside it, a transaction is open and ``app.current_org`` is set with
``set_config(..., true)``, so PostgreSQL's RLS policies see it and a pooled connection can
never carry it into the next transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.db import connection, transaction

if TYPE_CHECKING:
    from tenants.models import Organization

ORG_SETTING = "app.current_org"
USER_SETTING = "app.current_user"

_current_org_id: ContextVar[int | None] = ContextVar("palisade_current_org_id", default=None)


class TenantContextMissing(RuntimeError):
    """Tenant data was queried outside an organisation context (fail closed)."""


def current_organization_id() -> int:
    org_id = _current_org_id.get()
    if org_id is None:
        raise TenantContextMissing(
            "No organisation context: wrap the code in tenant_context(org) "
            "(requests and tasks do this for you)."
        )
    return org_id


def has_tenant_context() -> bool:
    return _current_org_id.get() is not None


@contextmanager
def _transaction_setting(name: str, value: str) -> Iterator[None]:
    """Opens (or nests in) a transaction and sets ``name`` to ``value`` for it.

    One round trip: the previous value is read in the same statement. When nested inside an
    outer transaction the previous value is restored on a normal exit; on an error the
    savepoint rollback restores it (PostgreSQL settings are transactional).
    """
    nested = connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting(%s, true), set_config(%s, %s, true)",
                [name, name, value],
            )
            previous = cursor.fetchone()[0] or ""
        yield
        # A transaction marked for rollback restores the previous value by itself.
        if nested and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, %s, true)", [name, previous])


@contextmanager
def tenant_context(organization: Organization | int) -> Iterator[None]:
    org_id = organization if isinstance(organization, int) else organization.pk
    if org_id is None:
        raise TenantContextMissing("Cannot enter the context of an unsaved organisation.")
    token = _current_org_id.set(org_id)
    try:
        with _transaction_setting(ORG_SETTING, str(org_id)):
            yield
    finally:
        _current_org_id.reset(token)


@contextmanager
def own_memberships_context(user_id: int) -> Iterator[None]:
    """Lets RLS show one user's own membership rows across organisations (org chooser, A16).

    It exposes only rows whose ``user_id`` is this user (policy ``own_rows``), and only for
    reading; it is not an organisation context and tenant managers still refuse to run.
    """
    with _transaction_setting(USER_SETTING, str(user_id)):
        yield
