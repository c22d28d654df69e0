"""Reading an organisation's data keys, with a short in-process cache of unwrapped keys.

Unwrapping costs a KMS round trip (or two AES operations locally), so unwrapped data keys
are cached per process for ``PALISADE_KEY_CACHE_SECONDS``. Shredding clears this process's
cache at once; other processes stop using a destroyed key when their entry expires.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from keys.models import DataKey, Keyring
from keys.providers import (
    CreatedKek,
    KeyDestroyed,
    KeyOwner,
    KeyUnavailable,
    UnknownDataKeyVersion,
    provider,
)
from tenants.context import current_organization_id
from tenants.models import Organization


@dataclass(frozen=True)
class DataKeyMaterial:
    organization_id: int
    version: int
    key: bytes

    @property
    def owner(self) -> tuple[str, int]:
        return ("organization", self.organization_id)


_cache: dict[tuple[int, int], tuple[float, bytes]] = {}
_current_version: dict[int, tuple[float, int]] = {}
_lock = threading.Lock()


def forget_cached_keys(organization_id: int | None = None) -> None:
    with _lock:
        for cache in (_cache, _current_version):
            for key in list(cache):
                org = key[0] if isinstance(key, tuple) else key
                if organization_id is None or org == organization_id:
                    del cache[key]


def key_owner(organization_id: int) -> KeyOwner:
    short_id = Organization.objects.values_list("short_id", flat=True).get(pk=organization_id)
    return KeyOwner(organization_id=organization_id, short_id=short_id)


def kek_of(keyring: Keyring) -> CreatedKek:
    return CreatedKek(wrapped_kek=bytes(keyring.wrapped_kek), kms_key_id=keyring.kms_key_id)


def _keyring(organization_id: int) -> Keyring:
    keyring = Keyring.objects.filter(organization_id=organization_id).first()
    if keyring is None:
        raise KeyUnavailable("This organisation has no keyring.")
    if keyring.state == Keyring.State.DESTROYED:
        raise KeyDestroyed()
    return keyring


def data_key(version: int | None = None) -> DataKeyMaterial:
    """The current organisation's data key: the newest version, or a given one (to read)."""
    organization_id = current_organization_id()
    now = time.monotonic()
    ttl = settings.PALISADE_KEY_CACHE_SECONDS
    if version is None:
        with _lock:
            cached_version = _current_version.get(organization_id)
        if cached_version and cached_version[0] > now:
            version = cached_version[1]
    if version is not None:
        with _lock:
            cached = _cache.get((organization_id, version))
        if cached and cached[0] > now:
            return DataKeyMaterial(organization_id, version, cached[1])

    keyring = _keyring(organization_id)
    rows = DataKey.objects.order_by("-version")
    row = rows.filter(version=version).first() if version is not None else rows.first()
    if row is None:
        if version is not None:
            raise UnknownDataKeyVersion(version)
        raise KeyUnavailable("This organisation has no data key.")
    plaintext = provider(keyring.provider).unwrap_data_key(
        key_owner(organization_id), kek_of(keyring), row.version, bytes(row.wrapped_key)
    )
    with _lock:
        _cache[(organization_id, row.version)] = (now + ttl, plaintext)
        if version is None:
            _current_version[organization_id] = (now + ttl, row.version)
    return DataKeyMaterial(organization_id, row.version, plaintext)
