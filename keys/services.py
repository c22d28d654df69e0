"""Every write to keys: keyring creation, data-key rotation, KEK re-wrap, crypto-shredding."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from keys.keyring import _keyring, forget_cached_keys, kek_of, key_owner
from keys.models import DataKey, Keyring
from keys.providers import provider
from tenants.context import current_organization_id


@transaction.atomic
def keyring_create() -> Keyring:
    """Creates the current organisation's KEK with the configured provider, and data key v1."""
    organization_id = current_organization_id()
    chosen = provider()
    owner = key_owner(organization_id)
    kek = chosen.create_kek(owner)
    keyring = Keyring.objects.create(
        provider=chosen.name, kms_key_id=kek.kms_key_id, wrapped_kek=kek.wrapped_kek
    )
    _add_data_key(keyring, version=1)
    return keyring


def _add_data_key(keyring: Keyring, *, version: int) -> DataKey:
    owner = key_owner(keyring.organization_id)
    new_key = provider(keyring.provider).new_data_key(owner, kek_of(keyring), version)
    return DataKey.objects.create(version=version, wrapped_key=new_key.wrapped)


@transaction.atomic
def data_key_rotate() -> DataKey:
    """Adds a new data-key version; new encryption uses it at once, old versions still read."""
    keyring = _keyring(current_organization_id())
    Keyring.objects.select_for_update().filter(pk=keyring.pk).first()
    latest = DataKey.objects.aggregate(latest=Max("version"))["latest"] or 0
    data_key = _add_data_key(keyring, version=latest + 1)
    forget_cached_keys(keyring.organization_id)
    return data_key


@transaction.atomic
def keyring_rewrap() -> Keyring:
    """Re-wraps the KEK under the provider's current master key (after a master rotation)."""
    keyring = _keyring(current_organization_id())
    owner = key_owner(keyring.organization_id)
    rewrapped = provider(keyring.provider).rewrap_kek(owner, kek_of(keyring))
    keyring.wrapped_kek = rewrapped.wrapped_kek
    keyring.save(update_fields=["wrapped_kek"])
    return keyring


@transaction.atomic
def keyring_shred() -> Keyring:
    """Crypto-shredding (E6): the KEK is destroyed at its provider and every wrapped key is
    wiped, so every value encrypted for this organisation becomes unreadable."""
    keyring = _keyring(current_organization_id())
    owner = key_owner(keyring.organization_id)
    provider(keyring.provider).destroy_kek(owner, kek_of(keyring))
    DataKey.objects.update(wrapped_key=b"")
    keyring.wrapped_kek = b""
    keyring.state = Keyring.State.DESTROYED
    keyring.destroyed_at = timezone.now()
    keyring.save(update_fields=["wrapped_kek", "state", "destroyed_at"])
    forget_cached_keys(keyring.organization_id)
    return keyring
