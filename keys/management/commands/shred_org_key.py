"""``manage.py shred_org_key``: crypto-shredding of one organisation (E6)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.context import Actor, acting_as
from keys.providers import KeyDestroyed, KeyUnavailable, LocalEnvelopeProvider
from keys.services import keyring_shred
from tenants.context import tenant_context
from tenants.models import Organization


class Command(BaseCommand):
    help = (
        "Destroy an organisation's encryption key (crypto-shredding, E6): every value "
        "encrypted for it becomes unreadable for good. --confirm must repeat the slug. "
        "Running it again for a key already destroyed changes nothing and exits 0."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", metavar="SLUG", required=True)
        parser.add_argument(
            "--confirm", metavar="SLUG", required=True, help="the same slug, to confirm"
        )

    def handle(self, *args, org: str, confirm: str, **_) -> None:
        if confirm != org:
            raise CommandError(
                "Refused: --confirm must repeat the organisation's slug exactly. "
                "Nothing was destroyed."
            )
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organisation has the slug {org!r}.")
        try:
            with (
                acting_as(Actor(type="system", label="manage.py shred_org_key")),
                tenant_context(organization),
            ):
                keyring = keyring_shred()
        except KeyDestroyed:
            # Exit 0: the state asked for already holds, so a retried run is not a failure.
            self.stdout.write(f"{org}: keys were already destroyed; nothing to do.")
            return
        except KeyUnavailable as error:
            raise CommandError(f"{org}: {error}") from error
        self.stdout.write(
            f"{org}: encryption keys destroyed ({keyring.provider}). Its encrypted values "
            "now read as unreadable; other processes stop using cached keys within "
            "PALISADE_KEY_CACHE_SECONDS."
        )
        if keyring.provider == LocalEnvelopeProvider.name:
            self.stdout.write(
                "Note: with the local provider, a database backup taken before now still holds "
                "the wrapped key, which the master key can open: destroy those backups too, or "
                "use the aws-kms provider."
            )
