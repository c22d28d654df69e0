from django.core.management.base import CommandError

from tenants.models import Organization


def organizations_from_option(slug: str | None) -> list[Organization]:
    """``--org SLUG`` or every organisation; an unknown slug is a clear error (exit 1)."""
    if slug is None:
        return list(Organization.objects.order_by("slug"))
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise CommandError(f"No organisation with slug {slug!r}.")
    return [organization]
