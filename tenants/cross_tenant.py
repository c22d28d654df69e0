"""THE cross-tenant path (T3). Loud name on purpose: grep for ``cross_tenant``.

Only the super-admin site and platform jobs may import this module (import-linter contract in
pyproject.toml, checked by the test suite). It is the only code that touches the
``cross_tenant`` database alias, whose role has BYPASSRLS; web processes of the portals are not
even configured with that alias. Every use records who crossed, into which organisation and
why, in that organisation's own table (and, with the audit issue, its audit log).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connections, transaction

from tenants.models import CrossTenantAccess, Organization

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
    organization: Organization, *, actor: str, reason: str
) -> Iterator[CrossTenantSession]:
    """Enter one organisation from outside it, leaving a record first.

    The record is written in the same transaction as the work, so access that leaves no
    record cannot happen.
    """
    if not actor.strip() or len(reason.strip()) < 10:
        raise CrossTenantAccessRefused("Cross-tenant access needs an actor and a stated reason.")
    if CROSS_TENANT_DB_ALIAS not in connections.settings:
        raise CrossTenantAccessRefused("This process is not configured for cross-tenant work.")
    with transaction.atomic(using=CROSS_TENANT_DB_ALIAS):
        # bulk_create skips TenantModel.save(), which (rightly) wants an organisation context
        # that the cross-tenant path does not have.
        CrossTenantAccess._base_manager.using(CROSS_TENANT_DB_ALIAS).bulk_create(
            [
                CrossTenantAccess(
                    organization=organization, actor=actor.strip(), reason=reason.strip()
                )
            ]
        )
        yield CrossTenantSession(organization=organization)
