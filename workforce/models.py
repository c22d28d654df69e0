from django.db import models
from django.utils import timezone

from tenants.models import TenantModel


class Department(TenantModel):
    """A node in the organisation's department tree (Z5). The parent must belong to the same
    organisation; the composite foreign key added by ``tenants.rls`` enforces it (T4)."""

    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "workforce_department"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "parent", "name"],
                name="department_name_unique_in_parent",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return self.name


class Site(TenantModel):
    """A place where shifts are worked."""

    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="sites"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "workforce_site"
        ordering = ["name"]
        indexes = [models.Index(fields=["organization", "name"], name="site_org_name_idx")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="site_name_unique_in_org")
        ]

    def __str__(self) -> str:
        return self.name
