"""Key providers: where an organisation's key-encryption key (KEK) lives (E2), and what wraps
each data subject's (person's) data key (E3, E6).

- ``local``: the KEK is 32 random bytes wrapped by a master key from the environment
  (AES-256-GCM); data keys are wrapped by the KEK. A person's data key is wrapped by the master
  key directly. For development and single-host installs.
- ``aws-kms``: one KMS key per organisation is the KEK; data keys come from
  ``GenerateDataKey`` with an encryption context naming the organisation, and are unwrapped
  with ``Decrypt`` under the same context. The KEK never leaves KMS. People's data keys come
  from one platform KMS key (``PALISADE_KMS_PLATFORM_KEY_ID``), bound to the person by
  encryption context.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

KEY_BYTES = 32
NONCE_BYTES = 12
WRAP_FORMAT = b"\x01"


class KeyUnavailable(Exception):
    """A key cannot be used; the message says why, for people, not stack traces."""


class UnknownDataKeyVersion(KeyUnavailable):
    """A value names a data-key version its organisation never had: it was altered or
    moved, so callers treat it as an integrity failure rather than a configuration error."""

    def __init__(self, version: int) -> None:
        super().__init__(f"This organisation has no data key version {version}.")


class KeyDestroyed(KeyUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "This organisation's encryption key was destroyed (crypto-shredded): "
            "its encrypted data can no longer be read."
        )


@dataclass(frozen=True)
class KeyOwner:
    """What a provider binds keys to: the organisation's id and short id."""

    organization_id: int
    short_id: str

    @property
    def context(self) -> dict[str, str]:
        return {"palisade:organization": str(self.organization_id)}


class SubjectKeyDestroyed(KeyDestroyed):
    def __init__(self) -> None:
        KeyUnavailable.__init__(
            self,
            "This person's encryption key was destroyed (crypto-shredded): their encrypted "
            "data can no longer be read.",
        )


@dataclass(frozen=True)
class SubjectKeyOwner:
    """A data subject: the person (user) whose own data key a provider wraps."""

    user_id: int

    @property
    def context(self) -> dict[str, str]:
        return {"palisade:data-subject": f"user:{self.user_id}"}


@dataclass(frozen=True)
class CreatedKek:
    wrapped_kek: bytes
    kms_key_id: str


@dataclass(frozen=True)
class NewDataKey:
    plaintext: bytes
    wrapped: bytes


@dataclass(frozen=True)
class WrappedSubjectKey:
    """A person's data key as stored: wrapped, and the platform key that wrapped it (KMS)."""

    wrapped: bytes
    kms_key_id: str


class KeyProvider(ABC):
    name: str

    @abstractmethod
    def create_kek(self, owner: KeyOwner) -> CreatedKek: ...

    @abstractmethod
    def new_data_key(self, owner: KeyOwner, kek: CreatedKek, version: int) -> NewDataKey: ...

    @abstractmethod
    def unwrap_data_key(
        self, owner: KeyOwner, kek: CreatedKek, version: int, wrapped: bytes
    ) -> bytes: ...

    @abstractmethod
    def destroy_kek(self, owner: KeyOwner, kek: CreatedKek) -> None: ...

    def rewrap_kek(self, owner: KeyOwner, kek: CreatedKek) -> CreatedKek:
        """Re-wrap the KEK under the provider's current master (no-op where the provider
        rotates its own key material, as KMS does)."""
        return kek

    @abstractmethod
    def new_subject_key(self, subject: SubjectKeyOwner) -> tuple[bytes, WrappedSubjectKey]:
        """A new data key for one person: its plaintext and its wrapped form."""

    @abstractmethod
    def unwrap_subject_key(self, subject: SubjectKeyOwner, stored: WrappedSubjectKey) -> bytes: ...

    def rewrap_subject_key(
        self, subject: SubjectKeyOwner, stored: WrappedSubjectKey
    ) -> WrappedSubjectKey:
        """Re-wrap a person's data key under the current master (no-op for KMS)."""
        return stored


def _seal(key: bytes, plaintext: bytes, aad: bytes, prefix: bytes = b"") -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return WRAP_FORMAT + prefix + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes, prefix_length: int = 0) -> bytes:
    if not sealed.startswith(WRAP_FORMAT):
        raise KeyUnavailable("Unknown wrapped-key format.")
    body = sealed[1 + prefix_length :]
    try:
        return AESGCM(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], aad)
    except InvalidTag as error:
        raise KeyUnavailable("A wrapped key failed its integrity check.") from error


class LocalEnvelopeProvider(KeyProvider):
    """Master key(s) from the environment wrap each organisation's KEK (E5).

    ``PALISADE_MASTER_KEY`` is the current master; ``PALISADE_MASTER_KEY_PREVIOUS`` (comma
    separated) lists older ones that can still unwrap until ``rotate_keys --rewrap`` has moved
    every KEK to the current master. Each wrapped KEK names its master by fingerprint.
    """

    name = "local"
    FINGERPRINT_BYTES = 8

    def __init__(self, master_keys: list[bytes]) -> None:
        if not master_keys:
            raise KeyUnavailable("No master key configured (PALISADE_MASTER_KEY).")
        for key in master_keys:
            if len(key) != KEY_BYTES:
                raise KeyUnavailable("A master key must be 32 bytes (base64-encoded).")
        self._current = master_keys[0]
        self._by_fingerprint = {self._fingerprint(key): key for key in master_keys}

    @classmethod
    def _fingerprint(cls, key: bytes) -> bytes:
        return hashlib.sha256(b"palisade-master-key-id" + key).digest()[: cls.FINGERPRINT_BYTES]

    @staticmethod
    def _kek_aad(owner: KeyOwner) -> bytes:
        return b"palisade:kek:%d" % owner.organization_id

    @staticmethod
    def _dek_aad(owner: KeyOwner, version: int) -> bytes:
        return b"palisade:dek:%d:%d" % (owner.organization_id, version)

    @staticmethod
    def _subject_aad(subject: SubjectKeyOwner) -> bytes:
        return b"palisade:subject-dek:%d" % subject.user_id

    def _wrap_under_master(self, plaintext: bytes, aad: bytes) -> bytes:
        return _seal(self._current, plaintext, aad, self._fingerprint(self._current))

    def _unwrap_under_master(self, wrapped: bytes, aad: bytes, whose: str) -> bytes:
        fingerprint = wrapped[1 : 1 + self.FINGERPRINT_BYTES]
        master = self._by_fingerprint.get(fingerprint)
        if master is None:
            raise KeyUnavailable(f"The master key that wrapped {whose} key is not configured.")
        return _open(master, wrapped, aad, self.FINGERPRINT_BYTES)

    def _unwrap_kek(self, owner: KeyOwner, kek: CreatedKek) -> bytes:
        if not kek.wrapped_kek:
            raise KeyDestroyed()
        return self._unwrap_under_master(
            kek.wrapped_kek, self._kek_aad(owner), "this organisation's"
        )

    def create_kek(self, owner: KeyOwner) -> CreatedKek:
        wrapped = self._wrap_under_master(os.urandom(KEY_BYTES), self._kek_aad(owner))
        return CreatedKek(wrapped_kek=wrapped, kms_key_id="")

    def rewrap_kek(self, owner: KeyOwner, kek: CreatedKek) -> CreatedKek:
        plaintext = self._unwrap_kek(owner, kek)
        return CreatedKek(
            wrapped_kek=self._wrap_under_master(plaintext, self._kek_aad(owner)), kms_key_id=""
        )

    def new_subject_key(self, subject: SubjectKeyOwner) -> tuple[bytes, WrappedSubjectKey]:
        plaintext = os.urandom(KEY_BYTES)
        wrapped = self._wrap_under_master(plaintext, self._subject_aad(subject))
        return plaintext, WrappedSubjectKey(wrapped=wrapped, kms_key_id="")

    def unwrap_subject_key(self, subject: SubjectKeyOwner, stored: WrappedSubjectKey) -> bytes:
        return self._unwrap_under_master(
            stored.wrapped, self._subject_aad(subject), "this person's"
        )

    def rewrap_subject_key(
        self, subject: SubjectKeyOwner, stored: WrappedSubjectKey
    ) -> WrappedSubjectKey:
        plaintext = self.unwrap_subject_key(subject, stored)
        wrapped = self._wrap_under_master(plaintext, self._subject_aad(subject))
        return WrappedSubjectKey(wrapped=wrapped, kms_key_id="")

    def new_data_key(self, owner: KeyOwner, kek: CreatedKek, version: int) -> NewDataKey:
        plaintext = os.urandom(KEY_BYTES)
        wrapped = _seal(self._unwrap_kek(owner, kek), plaintext, self._dek_aad(owner, version))
        return NewDataKey(plaintext=plaintext, wrapped=wrapped)

    def unwrap_data_key(
        self, owner: KeyOwner, kek: CreatedKek, version: int, wrapped: bytes
    ) -> bytes:
        return _open(self._unwrap_kek(owner, kek), wrapped, self._dek_aad(owner, version))

    def destroy_kek(self, owner: KeyOwner, kek: CreatedKek) -> None:
        # The wrapped KEK lives only in the keyring row, which the caller empties.
        return None


class AwsKmsProvider(KeyProvider):
    """One KMS key per organisation (E2); data keys bound to it by encryption context."""

    name = "aws-kms"
    DELETION_WINDOW_DAYS = 7  # KMS's minimum; the key is disabled at once

    def __init__(self, client) -> None:
        self._kms = client

    def create_kek(self, owner: KeyOwner) -> CreatedKek:
        key = self._kms.create_key(
            Description=f"Palisade organisation {owner.short_id}",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=[{"TagKey": "palisade:organization", "TagValue": str(owner.organization_id)}],
        )
        return CreatedKek(wrapped_kek=b"", kms_key_id=key["KeyMetadata"]["Arn"])

    def new_data_key(self, owner: KeyOwner, kek: CreatedKek, version: int) -> NewDataKey:
        response = self._call(
            "generate_data_key",
            KeyId=kek.kms_key_id,
            KeySpec="AES_256",
            EncryptionContext=owner.context,
        )
        return NewDataKey(plaintext=response["Plaintext"], wrapped=response["CiphertextBlob"])

    def unwrap_data_key(
        self, owner: KeyOwner, kek: CreatedKek, version: int, wrapped: bytes
    ) -> bytes:
        response = self._call(
            "decrypt",
            KeyId=kek.kms_key_id,
            CiphertextBlob=bytes(wrapped),
            EncryptionContext=owner.context,
        )
        return response["Plaintext"]

    def new_subject_key(self, subject: SubjectKeyOwner) -> tuple[bytes, WrappedSubjectKey]:
        key_id = settings.PALISADE_KMS_PLATFORM_KEY_ID
        if not key_id:
            raise KeyUnavailable(
                "No platform KMS key for people's data keys (PALISADE_KMS_PLATFORM_KEY_ID)."
            )
        response = self._call(
            "generate_data_key", KeyId=key_id, KeySpec="AES_256", EncryptionContext=subject.context
        )
        stored = WrappedSubjectKey(wrapped=response["CiphertextBlob"], kms_key_id=key_id)
        return response["Plaintext"], stored

    def unwrap_subject_key(self, subject: SubjectKeyOwner, stored: WrappedSubjectKey) -> bytes:
        response = self._call(
            "decrypt",
            KeyId=stored.kms_key_id,
            CiphertextBlob=bytes(stored.wrapped),
            EncryptionContext=subject.context,
        )
        return response["Plaintext"]

    def destroy_kek(self, owner: KeyOwner, kek: CreatedKek) -> None:
        # AWS takes the key id or its ARN here; KMS-compatible servers such as moto 5 take only
        # the id. The key lives in this client's region, so its id is unambiguous.
        key_id = kek.kms_key_id.rpartition(":key/")[2]
        self._kms.disable_key(KeyId=key_id)
        self._kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=self.DELETION_WINDOW_DAYS)

    def _call(self, operation: str, **arguments):
        errors = self._kms.exceptions
        try:
            return getattr(self._kms, operation)(**arguments)
        except (errors.DisabledException, errors.KMSInvalidStateException) as error:
            raise KeyDestroyed() from error
        except errors.InvalidCiphertextException as error:
            raise KeyUnavailable("KMS refused to unwrap a data key.") from error


@cache
def provider(name: str | None = None) -> KeyProvider:
    """The configured provider (or a named one, for keyrings created under another)."""
    name = name or settings.PALISADE_KEY_PROVIDER
    if name == LocalEnvelopeProvider.name:
        return LocalEnvelopeProvider(settings.PALISADE_MASTER_KEYS)
    if name == AwsKmsProvider.name:
        import boto3

        # Empty settings leave credentials to boto3's default chain (instance role, profile).
        client = boto3.client(
            "kms",
            region_name=settings.PALISADE_AWS_REGION,
            endpoint_url=settings.PALISADE_KMS_ENDPOINT_URL or None,
            aws_access_key_id=settings.PALISADE_AWS_ACCESS_KEY_ID or None,
            aws_secret_access_key=settings.PALISADE_AWS_SECRET_ACCESS_KEY or None,
        )
        return AwsKmsProvider(client)
    raise KeyUnavailable(f"Unknown key provider {name!r}.")
