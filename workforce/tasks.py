"""Periodic workforce jobs (D2, D4): thin wrappers around ``workforce.timekeeping`` and
``workforce.documents``. Beat starts the ``*_all_organizations`` fan-out, which queues one
tenant task per active organisation (T6: each runs inside its own organisation's context)."""

from celery import shared_task

from tenants.models import Organization
from tenants.tasks import tenant_task
from workforce.documents import document_expiry_reminders_send
from workforce.timekeeping import attendance_mark_missed


def _active_organization_ids() -> list[int]:
    organizations = Organization.objects.filter(status=Organization.Status.ACTIVE)
    return list(organizations.values_list("pk", flat=True))


@tenant_task(name="workforce.mark_missed_attendance")
def mark_missed_attendance() -> int:
    return attendance_mark_missed()


@shared_task(name="workforce.mark_missed_attendance_all_organizations")
def mark_missed_attendance_all_organizations() -> int:
    """Beat job (D2, every 5 minutes)."""
    organization_ids = _active_organization_ids()
    for organization_id in organization_ids:
        mark_missed_attendance.delay(organization_id)
    return len(organization_ids)


@tenant_task(name="workforce.send_document_expiry_reminders")
def send_document_expiry_reminders() -> int:
    return document_expiry_reminders_send()


@shared_task(name="workforce.send_document_expiry_reminders_all_organizations")
def send_document_expiry_reminders_all_organizations() -> int:
    """Beat job (D4, daily)."""
    organization_ids = _active_organization_ids()
    for organization_id in organization_ids:
        send_document_expiry_reminders.delay(organization_id)
    return len(organization_ids)
