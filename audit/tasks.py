import logging

from celery import shared_task

from audit.checkpoints import ChainBroken, checkpoint_create
from keys.providers import KeyDestroyed
from tenants.models import Organization
from tenants.tasks import tenant_task

logger = logging.getLogger(__name__)


@tenant_task(name="audit.checkpoint_organization")
def checkpoint_organization() -> int | None:
    try:
        checkpoint = checkpoint_create()
    except KeyDestroyed:
        # A crypto-shredded organisation's chain can no longer be checked, so nothing more
        # is signed for it; its existing checkpoints stay valid for what they cover.
        logger.info("audit checkpoint skipped: the organisation's keys were destroyed")
        return None
    except ChainBroken:
        logger.critical("audit chain broken: checkpoint refused", exc_info=True)
        raise
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
