from django.db import models

from tenants.context import current_organization_id


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of every tenant model: scoped to the current organisation, and refusing
    to build a query at all outside an organisation context (fail closed, T1).

    RLS in PostgreSQL is the backstop under this filter, not a replacement (STYLE.md).
    """

    def get_queryset(self):
        return super().get_queryset().filter(organization_id=current_organization_id())
