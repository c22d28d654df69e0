from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from workforce.models import Site


def sites_list() -> QuerySet[Site]:
    """Sites of the current organisation, with their department in the same query."""
    return Site.objects.select_related("department").order_by("name", "id")


def access_site(site_id: int) -> Site:
    return get_object_or_404(sites_list(), pk=site_id)
