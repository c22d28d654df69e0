"""Data-subject keys (E3, E6): one data key per person, for the values that belong to that
person rather than to an organisation (their second-factor secrets).

A person's key is created the first time a value of theirs is encrypted, wrapped by the
platform key provider (``keys.providers``). The row is read on every use, so a shredded key
stops working in every process at once; only the unwrapping (a KMS round trip) is cached, keyed
by the wrapped bytes, so a key that a rolled-back transaction created is never reused.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from keys.models import SubjectKey
from keys.providers import (
    SubjectKeyDestroyed,
    SubjectKeyOwner,
    UnknownDataKeyVersion,
    WrappedSubjectKey,
    provider,
)

# A person has one data key; the header's version field is kept for the shared format.
SUBJECT_KEY_VERSION = 1


@dataclass(frozen=True)
class SubjectKeyMaterial:
    user_id: int
    version: int
    key: bytes

    @property
    def owner(self) -> tuple[str, int]:
        return ("user", self.user_id)


_unwrapped: dict[tuple[int, bytes], tuple[float, bytes]] = {}
_lock = threading.Lock()


def forget_cached_subject_keys(user_id: int | None = None) -> None:
    with _lock:
        for entry in list(_unwrapped):
            if user_id is None or entry[0] == user_id:
                del _unwrapped[entry]


def stored_form(row: SubjectKey) -> WrappedSubjectKey:
    return WrappedSubjectKey(wrapped=bytes(row.wrapped_key), kms_key_id=row.kms_key_id)


def _cache_entry(user_id: int, wrapped: bytes) -> tuple[int, bytes]:
    return (user_id, hashlib.sha256(wrapped).digest())


def _remember(entry: tuple[int, bytes], plaintext: bytes) -> None:
    with _lock:
        _unwrapped[entry] = (time.monotonic() + settings.PALISADE_KEY_CACHE_SECONDS, plaintext)


def _unwrap(row: SubjectKey) -> bytes:
    entry = _cache_entry(row.user_id, bytes(row.wrapped_key))
    with _lock:
        cached = _unwrapped.get(entry)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    plaintext = provider(row.provider).unwrap_subject_key(
        SubjectKeyOwner(row.user_id), stored_form(row)
    )
    _remember(entry, plaintext)
    return plaintext


def _create(user_id: int) -> SubjectKey:
    chosen = provider()
    plaintext, stored = chosen.new_subject_key(SubjectKeyOwner(user_id))
    try:
        with transaction.atomic():
            row = SubjectKey.objects.create(
                user_id=user_id,
                provider=chosen.name,
                kms_key_id=stored.kms_key_id,
                wrapped_key=stored.wrapped,
            )
    except IntegrityError:
        # Another request created this person's key first: everyone uses that one.
        return SubjectKey.objects.get(user_id=user_id)
    _remember(_cache_entry(user_id, stored.wrapped), plaintext)
    return row


def subject_data_key(user_id: int, version: int | None = None) -> SubjectKeyMaterial:
    """The person's data key: to read a value (``version`` from its header), or to encrypt
    one (``version`` None), which creates the key on first use."""
    if version is not None and version != SUBJECT_KEY_VERSION:
        raise UnknownDataKeyVersion(version)
    row = SubjectKey.objects.filter(user_id=user_id).first()
    if row is None:
        if version is not None:
            # A stored value under a key that never existed was moved or forged.
            raise UnknownDataKeyVersion(version)
        row = _create(user_id)
    if row.state == SubjectKey.State.DESTROYED:
        raise SubjectKeyDestroyed()
    return SubjectKeyMaterial(user_id, SUBJECT_KEY_VERSION, _unwrap(row))
