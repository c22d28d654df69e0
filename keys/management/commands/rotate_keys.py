"""``manage.py rotate_keys``: key rotation without downtime (E5)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from audit.context import Actor, acting_as
from keys.fields import models_with_encrypted_fields
from keys.providers import KeyDestroyed, KeyUnavailable
from keys.services import (
    data_key_rotate,
    encrypted_values_reencrypt,
    keyring_rewrap,
    subject_keys_rewrap,
)
from tenants.context import tenant_context
from tenants.models import Organization

DEFAULT_BATCH_SIZE = 500


class Command(BaseCommand):
    help = (
        "Rotate organisations' keys without downtime (E5): add a new data-key version, which "
        "new writes use at once; with --rewrap first re-wrap each KEK under the current master "
        "key (after moving the old one to PALISADE_MASTER_KEY_PREVIOUS); with --reencrypt "
        "re-encrypt stored values under the new version in batches, each its own transaction. "
        "Values under older versions stay readable throughout. Organisations whose keys were "
        "destroyed are skipped. --rewrap without --org also re-wraps people's data keys."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", metavar="SLUG", help="one organisation (default: all)")
        parser.add_argument(
            "--rewrap", action="store_true", help="re-wrap KEKs under the current master key"
        )
        parser.add_argument(
            "--reencrypt", action="store_true", help="re-encrypt values under the new version"
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            metavar="N",
            help=f"rows per re-encryption transaction (default {DEFAULT_BATCH_SIZE})",
        )

    def handle(self, *args, org: str | None, rewrap: bool, reencrypt: bool, batch_size: int, **_):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        organizations = Organization.objects.order_by("pk")
        if org is not None:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"No organisation has the slug {org!r}.")
        with acting_as(Actor(type="system", label="manage.py rotate_keys")):
            for organization in organizations:
                self._rotate(
                    organization, rewrap=rewrap, reencrypt=reencrypt, batch_size=batch_size
                )
        if rewrap and org is None:
            self._rewrap_subject_keys(batch_size)

    def _rewrap_subject_keys(self, batch_size: int) -> None:
        """People's data keys are wrapped by the master key too (E3, E6): without this, retiring
        the previous master would make their second-factor secrets unreadable."""
        rewrapped, after_pk = 0, None
        try:
            while True:
                rows, after_pk = subject_keys_rewrap(after_pk=after_pk, batch_size=batch_size)
                rewrapped += rows
                if rows < batch_size:
                    break
        except KeyUnavailable as error:
            raise CommandError(f"people's data keys: {error}") from error
        self.stdout.write(f"people's data keys: {rewrapped} now under the current master key")

    def _rotate(
        self, organization: Organization, *, rewrap: bool, reencrypt: bool, batch_size: int
    ) -> None:
        slug = organization.slug
        try:
            with tenant_context(organization):
                if rewrap:
                    keyring_rewrap()
                version = data_key_rotate().version
        except KeyDestroyed:
            self.stdout.write(f"{slug}: keys destroyed (crypto-shredded), skipped")
            return
        except KeyUnavailable as error:
            raise CommandError(f"{slug}: {error}") from error
        summary = f"{slug}: {'KEK re-wrapped, ' if rewrap else ''}data key v{version}"
        if reencrypt:
            summary += ", " + self._reencrypt(organization, batch_size)
        self.stdout.write(summary)

    def _reencrypt(self, organization: Organization, batch_size: int) -> str:
        started = time.monotonic()
        reencrypted = unreadable = batches = 0
        for model in models_with_encrypted_fields():
            after_pk = None
            while True:
                # Each batch is its own transaction (and so its own context), so locks are
                # short and a failure leaves every finished batch committed.
                with tenant_context(organization):
                    batch = encrypted_values_reencrypt(
                        model=model, after_pk=after_pk, batch_size=batch_size
                    )
                # A model with nothing stale costs a query, not a batch: the count stays the
                # same whichever models hold encrypted values.
                batches += 1 if batch.rows else 0
                reencrypted += batch.values_reencrypted
                unreadable += batch.values_unreadable
                if batch.rows < batch_size:
                    break
                after_pk = batch.last_pk
        elapsed = time.monotonic() - started
        summary = f"{reencrypted} values re-encrypted in {batches} batches, {elapsed:.2f}s"
        if unreadable:
            summary += f"; {unreadable} unreadable values left as they are"
        return summary
