"""THE cross-tenant path (T3). Loud name on purpose: grep for ``cross_tenant``.

Only the super-admin site and platform jobs may import this module (import-linter contract in
pyproject.toml, checked by the test suite). It is the only code that touches the
``cross_tenant`` database alias, whose role has BYPASSRLS; web processes of the portals are not
even configured with that alias. Every use records who crossed, into which organisation and
why, in that organisation's own audit log (X2), committed before any access happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connections, transaction

from audit.context import Actor, acting_as
from audit.services import audit_event_record
from tenants.context import tenant_context
from tenants.models import Organization

CROSS_TENANT_DB_ALIAS = "cross_tenant"


class CrossTenantAccessRefused(PermissionError):
    pass


@dataclass(frozen=True)
class CrossTenantSession:
    """What a caller may do once across: read the organisation's rows through ``using``."""

    organization: Organization
    using: str = CROSS_TENANT_DB_ALIAS

    def queryset(self, model):
        # The tenant manager refuses to run without a context; across tenants the
        # organisation filter is explicit instead.
        return model._base_manager.using(self.using).filter(organization=self.organization)


@contextmanager
def cross_tenant_access(
    organization: Organization, *, actor: str, reason: str, read_only: bool = False
) -> Iterator[CrossTenantSession]:
    """Enter one organisation from outside it, leaving a record first.

    The audit event is committed in the organisation's own log before the cross-tenant
    connection is used, so access without a record cannot happen, even if the work fails.
    With ``read_only`` the crossing transaction is READ ONLY in PostgreSQL: support access
    (Z8) looks, and the database refuses any write it might attempt.
    """
    if not actor.strip() or len(reason.strip()) < 10:
        raise CrossTenantAccessRefused("Cross-tenant access needs an actor and a stated reason.")
    if CROSS_TENANT_DB_ALIAS not in connections.settings:
        raise CrossTenantAccessRefused("This process is not configured for cross-tenant work.")
    platform_actor = Actor(type="platform", label=actor.strip(), role="platform-support")
    with tenant_context(organization), acting_as(platform_actor):
        audit_event_record(
            action="platform.cross_tenant_access",
            entity=organization,
            changes={"reason": [None, reason.strip()]},
        )
    with transaction.atomic(using=CROSS_TENANT_DB_ALIAS):
        if read_only:
            with connections[CROSS_TENANT_DB_ALIAS].cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
        yield CrossTenantSession(organization=organization)
