import logging

from celery import shared_task

from audit.checkpoints import ChainBroken, checkpoint_create
from audit.stream_dispatch import DELIVER_TASK, streaming_queue
from audit.streaming import audit_sink_deliver, audit_sinks_sweep
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


@tenant_task(name=DELIVER_TASK)
def deliver_to_sink(sink_id: int) -> int:
    """One delivery run for one sink (L8); queued after each audit commit, by its own retries
    and by the sweep."""
    return audit_sink_deliver(sink_id=sink_id)


@tenant_task(name="audit.sweep_sinks")
def sweep_sinks() -> int:
    return audit_sinks_sweep()


@shared_task(name="audit.sweep_all_sinks")
def sweep_all_sinks() -> int:
    """Beat job (L8): one sweep per active organisation, since sinks are tenant data that only
    an organisation's own context can see."""
    organizations = Organization.objects.filter(status=Organization.Status.ACTIVE)
    count = 0
    for organization_id in organizations.values_list("pk", flat=True):
        sweep_sinks.apply_async(args=[organization_id], queue=streaming_queue())
        count += 1
    return count
