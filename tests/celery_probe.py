"""Tasks the Celery tests run in a real worker: they report what the database let them see."""

from celery import shared_task
from django.db import connection

from tenants.tasks import tenant_task
from workforce.models import Site


def _backend_pid_and_raw_count() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), (SELECT count(*) FROM workforce_site)")
        return cursor.fetchone()


@tenant_task(name="tests.visible_sites")
def visible_sites() -> dict:
    pid, raw_count = _backend_pid_and_raw_count()
    return {
        "names": sorted(Site.objects.values_list("name", flat=True)),
        "raw_count": raw_count,
        "pid": pid,
    }


@shared_task(name="tests.visible_sites_without_organization")
def visible_sites_without_organization() -> dict:
    pid, raw_count = _backend_pid_and_raw_count()
    return {"raw_count": raw_count, "pid": pid}
