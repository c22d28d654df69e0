from celery import shared_task

from audit.checkpoints import checkpoint_create
from tenants.models import Organization
from tenants.tasks import tenant_task


@tenant_task(name="audit.checkpoint_organization")
def checkpoint_organization() -> int | None:
    checkpoint = checkpoint_create()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="audit.checkpoint_all_organizations")
def checkpoint_all_organizations() -> int:
    """Beat job (L9): one checkpoint task per active organisation."""
    organizations = Organization.objects.filter(status=Organization.Status.ACTIVE)
    count = 0
    for organization_id in organizations.values_list("pk", flat=True):
        checkpoint_organization.delay(organization_id)
        count += 1
    return count
