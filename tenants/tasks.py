"""Celery tasks that run inside an organisation (T6)."""

from celery import Task, shared_task

from audit.context import Actor, acting_as
from tenants.context import tenant_context
from tenants.models import Organization


class TenantTask(Task):
    """Base class of every tenant task: the first argument is the organisation id, and the task
    body runs inside that organisation's context (its own transaction, ``app.current_org`` set
    once). A suspended or unknown organisation's task does not run."""

    abstract = True
    # The organisation id is not a parameter of the task body, so Celery's own signature check
    # at send time would reject it.
    typing = False

    def __call__(self, org_id: int, *args, **kwargs):
        organization = Organization.objects.get(pk=org_id, status=Organization.Status.ACTIVE)
        with tenant_context(organization), acting_as(Actor(type="system", label=self.name)):
            return super().__call__(*args, **kwargs)


def tenant_task(*args, **options):
    """``@tenant_task`` declares a task whose callers pass ``org_id`` first:
    ``my_task.delay(org.pk, ...)``."""
    return shared_task(*args, base=TenantTask, **options)
