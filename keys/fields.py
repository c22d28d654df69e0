"""Field encryption (E3): ``EncryptedTextField`` and the ``EncryptedFieldsModel`` base it needs,
for organisations' data; ``SubjectEncryptedTextField`` and ``SubjectEncryptedFieldsModel`` for
data that belongs to one person rather than an organisation (second-factor secrets, E3, E6).

A stored value is ``format (1 byte) | data-key version (4 bytes, big-endian) | nonce (12
random bytes) | AES-256-GCM ciphertext and tag``, in a ``bytea`` column. The associated data
binds it to its owner (organisation or person), table, column and row (the row's ``row_uuid``,
which exists before the INSERT gives it a primary key), so a ciphertext copied to another row,
column, table or owner fails to decrypt. Both kinds share the format, the AEAD code and the
attribute behaviour below; they differ only in whose key they use and how the binding names
the owner.

Reading the attribute decrypts lazily with the owner's data key of the version named in the
header; assigning sets plaintext, which ``pre_save`` encrypts under the newest
version. A value that cannot be read (key shredded, E6; or moved or tampered with) reads as an
``UnreadableValue`` instead of raising, and a row holding one can still be saved: ciphertext
loaded from the database is written back byte for byte unless the attribute is assigned.
"""

from __future__ import annotations

import logging
import os
import struct
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Transform
from django.db.models.query_utils import DeferredAttribute

from keys.providers import KeyDestroyed, UnknownDataKeyVersion
from tenants.context import current_organization_id
from tenants.models import TenantModel

if TYPE_CHECKING:
    from keys.keyring import DataKeyMaterial
    from keys.subject_keys import SubjectKeyMaterial

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
HEADER = struct.Struct(">BI")  # format, data-key version
NONCE_BYTES = 12
TAG_BYTES = 16
SMALLEST_VALUE = HEADER.size + NONCE_BYTES + TAG_BYTES


def _data_key(version: int | None = None) -> DataKeyMaterial:
    # keys.keyring imports keys.models, which imports this module: resolve it at call time.
    from keys.keyring import data_key

    return data_key(version)


def _subject_key(user_id: int, version: int | None = None) -> SubjectKeyMaterial:
    # The same cycle, through keys.subject_keys.
    from keys.subject_keys import subject_data_key

    return subject_data_key(user_id, version)


# Whose key a value is sealed under: ("organization", id) or ("user", id).
KeyOwnerRef = tuple[str, int]


class KeyMaterial(Protocol):
    version: int
    key: bytes

    @property
    def owner(self) -> KeyOwnerRef: ...


@dataclass(frozen=True)
class FieldBinding:
    """Where an organisation's value lives; the associated data that ties its ciphertext to
    that place."""

    organization_id: int
    table: str
    column: str
    row_uuid: uuid.UUID

    domain: ClassVar[bytes] = b"palisade-field"

    @property
    def owner(self) -> KeyOwnerRef:
        return ("organization", self.organization_id)

    def __str__(self) -> str:
        return (
            f"{self.table}.{self.column}, row {self.row_uuid}, organisation {self.organization_id}"
        )

    def associated_data(self, header: bytes) -> bytes:
        return _associated_data(self, header)


@dataclass(frozen=True)
class SubjectFieldBinding:
    """Where a person's value lives (E3): the user id takes the organisation's place, under a
    domain label of its own, so neither kind of value can be passed off as the other."""

    user_id: int
    table: str
    column: str
    row_uuid: uuid.UUID

    domain: ClassVar[bytes] = b"palisade-subject-field"

    @property
    def owner(self) -> KeyOwnerRef:
        return ("user", self.user_id)

    def __str__(self) -> str:
        return f"{self.table}.{self.column}, row {self.row_uuid}, user {self.user_id}"

    def associated_data(self, header: bytes) -> bytes:
        return _associated_data(self, header)


Binding = FieldBinding | SubjectFieldBinding


def _associated_data(place: Binding, header: bytes) -> bytes:
    parts = (
        place.domain,
        header,
        str(place.owner[1]).encode(),
        place.table.encode(),
        place.column.encode(),
        place.row_uuid.bytes,
    )
    # Length-prefixed, so two different bindings can never encode to the same bytes.
    return b"".join(len(part).to_bytes(2, "big") + part for part in parts)


class CiphertextInvalid(Exception):
    """A stored value is malformed or fails authentication: moved, altered or truncated."""


def seal_value(plaintext: str, key: KeyMaterial, binding: Binding) -> bytes:
    # E2: a value is only ever encrypted under its own organisation's (or person's) key.
    if key.owner != binding.owner:
        raise ValueError(
            "A value must be encrypted under its own organisation's or person's data key."
        )
    header = HEADER.pack(FORMAT_VERSION, key.version)
    # E3: a fresh random 96-bit nonce per value; at 2^32 values per key the collision
    # probability is still below NIST SP 800-38D's 2^-32 bound.
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key.key).encrypt(nonce, plaintext.encode(), binding.associated_data(header))
    return header + nonce + ciphertext


def header_version(data: bytes) -> int | None:
    """The data-key version named in a stored value's header, or None if it is malformed."""
    if len(data) < SMALLEST_VALUE:
        return None
    format_version, version = HEADER.unpack_from(data)
    return version if format_version == FORMAT_VERSION else None


def open_value(data: bytes, key: KeyMaterial, binding: Binding) -> str:
    if header_version(data) != key.version:
        raise CiphertextInvalid("The value's header does not match the key.")
    header, nonce = data[: HEADER.size], data[HEADER.size : HEADER.size + NONCE_BYTES]
    try:
        plaintext = AESGCM(key.key).decrypt(
            nonce, data[HEADER.size + NONCE_BYTES :], binding.associated_data(header)
        )
    except InvalidTag as error:
        raise CiphertextInvalid("The value failed its integrity check.") from error
    return plaintext.decode()


class Unreadable(StrEnum):
    KEY_DESTROYED = "key_destroyed"
    SUBJECT_KEY_DESTROYED = "subject_key_destroyed"
    INTEGRITY = "integrity"


UNREADABLE_MESSAGES = {
    Unreadable.KEY_DESTROYED: "[unreadable: this organisation's encryption key was destroyed]",
    Unreadable.SUBJECT_KEY_DESTROYED: "[unreadable: this person's encryption key was destroyed]",
    Unreadable.INTEGRITY: "[unreadable: integrity check failed]",
}


@dataclass(frozen=True, eq=False)
class UnreadableValue:
    """What reading an encrypted attribute gives when its value cannot be decrypted.

    Falsy, and prints as a message a person can act on, so pages and exports show the fact
    instead of failing (E6).
    """

    reason: Unreadable

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return UNREADABLE_MESSAGES[self.reason]


class StoredCiphertext:
    """An encrypted value as the database holds it, and, once read, what it decrypted to.

    The outcome is kept on this object, so each model instance decrypts a value at most once.
    """

    __slots__ = ("data", "outcome")

    def __init__(self, data: bytes, outcome: str | UnreadableValue | None = None) -> None:
        self.data = data
        self.outcome = outcome

    def __reduce__(self):
        # Pickled instances (caches, task arguments) carry the ciphertext, never the plaintext.
        return (StoredCiphertext, (self.data,))

    def __repr__(self) -> str:
        return f"<StoredCiphertext v{header_version(self.data)}, {len(self.data)} bytes>"


class EncryptedAttribute(DeferredAttribute):
    """Reading decrypts with the row's binding (``from_db_value`` never sees the instance);
    assigning sets plaintext, encrypted when the row is saved."""

    field: BaseEncryptedTextField

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)  # loads a deferred column first
        if isinstance(value, StoredCiphertext):
            return self.field.read(instance, value)
        return value

    def __set__(self, instance, value) -> None:
        attname = self.field.attname
        if isinstance(value, UnreadableValue):
            # full_clean() assigns back what it read: keep the ciphertext it came from. Copying
            # an unreadable value to another row or field is refused, not silently corrupted.
            current = instance.__dict__.get(attname)
            if isinstance(current, StoredCiphertext) and current.outcome is value:
                return
            raise TypeError("An unreadable encrypted value cannot be copied elsewhere.")
        if value is not None and not isinstance(value, str | StoredCiphertext):
            raise TypeError(f"{self.field} holds text, not {type(value).__name__}.")
        instance.__dict__[attname] = value


class BaseEncryptedTextField(models.Field):
    """What both kinds of encrypted field share: storage, lazy decryption, encryption on save
    and the refusal of plaintext anywhere else. Subclasses say whose key and which binding."""

    descriptor_class = EncryptedAttribute
    # What a value reads as when its owner's key was destroyed (E6).
    destroyed: ClassVar[Unreadable]

    def get_internal_type(self) -> str:
        return "BinaryField"

    def binding(self, instance: models.Model) -> Binding:
        raise NotImplementedError

    def key(self, instance: models.Model, version: int | None) -> KeyMaterial:
        """The owner's data key: the newest version (None, to encrypt) or a named one."""
        raise NotImplementedError

    def read(self, instance: models.Model, stored: StoredCiphertext) -> str | UnreadableValue:
        if stored.outcome is None:
            stored.outcome = self._decrypt(instance, stored.data)
        return stored.outcome

    def _decrypt(self, instance: models.Model, data: bytes) -> str | UnreadableValue:
        binding = self.binding(instance)
        version = header_version(data)
        try:
            if version is None:
                raise CiphertextInvalid("Unknown value format.")
            return open_value(data, self.key(instance, version), binding)
        except KeyDestroyed:
            return UnreadableValue(self.destroyed)
        except (CiphertextInvalid, UnknownDataKeyVersion):
            # A security signal (a value was moved or altered), so it is logged; the log
            # names the place only, never any part of the value.
            logger.warning("Encrypted value failed its integrity check: %s", binding)
            return UnreadableValue(Unreadable.INTEGRITY)

    def pre_save(self, instance: models.Model, add: bool):
        value = instance.__dict__.get(self.attname)
        if isinstance(value, str):
            value = StoredCiphertext(
                seal_value(value, self.key(instance, None), self.binding(instance)),
                outcome=value,
            )
            instance.__dict__[self.attname] = value
        return value

    def from_db_value(self, value, expression, connection) -> StoredCiphertext | None:
        return None if value is None else StoredCiphertext(bytes(value))

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if isinstance(value, StoredCiphertext):
            return connection.Database.Binary(value.data)
        # Plaintext reaches the database only through pre_save, which encrypts it:
        # QuerySet.update(), bulk_update() and filters with plaintext are refused.
        raise TypeError(
            f"{self} is encrypted when a row is saved; plaintext cannot be sent to the "
            "database in an update, bulk_update or filter."
        )


class EncryptedTextField(BaseEncryptedTextField):
    """Text stored encrypted under the organisation's data key (E3). Only for models that
    inherit ``EncryptedFieldsModel``: the row's ``row_uuid`` is part of the binding."""

    description = "Text encrypted with the organisation's data key (AES-256-GCM)"
    destroyed = Unreadable.KEY_DESTROYED

    def check(self, **kwargs) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if not issubclass(self.model, EncryptedFieldsModel):
            errors.append(
                checks.Error(
                    "EncryptedTextField needs a model that inherits EncryptedFieldsModel.",
                    hint="Its row_uuid binds each value to its row.",
                    obj=self,
                    id="keys.E001",
                )
            )
        return errors

    def binding(self, instance: EncryptedFieldsModel) -> FieldBinding:
        # Keys come from the current context: a row is encrypted and read only inside its own
        # organisation's context, as TenantModel.save() requires for writes (T1).
        if instance.organization_id != current_organization_id():
            raise ValueError("An encrypted value is used only in its organisation's context.")
        return FieldBinding(
            organization_id=instance.organization_id,
            table=self.model._meta.db_table,
            column=self.column,
            row_uuid=instance.row_uuid,
        )

    def key(self, instance: EncryptedFieldsModel, version: int | None) -> DataKeyMaterial:
        return _data_key(version)

    def reencrypt(
        self, instance: EncryptedFieldsModel, key: DataKeyMaterial
    ) -> StoredCiphertext | UnreadableValue | None:
        """This field's value re-encrypted under ``key`` (E5); None when it is NULL or already
        under that version, the UnreadableValue when it cannot be read (left as it is)."""
        stored = instance.__dict__.get(self.attname)
        if not isinstance(stored, StoredCiphertext) or header_version(stored.data) == key.version:
            return None
        plaintext = self.read(instance, stored)
        if isinstance(plaintext, UnreadableValue):
            return plaintext
        return StoredCiphertext(seal_value(plaintext, key, self.binding(instance)), plaintext)


class SubjectEncryptedTextField(BaseEncryptedTextField):
    """Text stored encrypted under the data key of the person the row belongs to (E3, E6), for
    models that are not tenant data (a user's second-factor devices). Only for models that
    inherit ``SubjectEncryptedFieldsModel``, which names that person. Destroying the person's
    key (``keys.services.user_key_shred``) makes every such value of theirs unreadable."""

    description = "Text encrypted with its person's data key (AES-256-GCM)"
    destroyed = Unreadable.SUBJECT_KEY_DESTROYED

    def check(self, **kwargs) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if not issubclass(self.model, SubjectEncryptedFieldsModel):
            errors.append(
                checks.Error(
                    "SubjectEncryptedTextField needs a model that inherits "
                    "SubjectEncryptedFieldsModel.",
                    hint="It names the person whose key encrypts the row, and its row_uuid.",
                    obj=self,
                    id="keys.E003",
                )
            )
        return errors

    def binding(self, instance: SubjectEncryptedFieldsModel) -> SubjectFieldBinding:
        user_id = instance.subject_id()
        if user_id is None:
            raise ValueError("An encrypted value needs the person it belongs to.")
        return SubjectFieldBinding(
            user_id=user_id,
            table=self.model._meta.db_table,
            column=self.column,
            row_uuid=instance.row_uuid,
        )

    def key(self, instance: SubjectEncryptedFieldsModel, version: int | None):
        return _subject_key(self.binding(instance).user_id, version)


@EncryptedTextField.register_lookup
class KeyVersion(Transform):
    """``<field>__key_version``: the data-key version in a stored value's header, so
    re-encryption finds stale values in SQL without decrypting anything (E5)."""

    lookup_name = "key_version"
    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.lhs)
        # Bytes 1-4 of the header, big-endian.
        sql = " | ".join(f"(get_byte({column}, {i})::bigint << {32 - 8 * i})" for i in (1, 2, 3, 4))
        return f"({sql})", params * 4


class EncryptedFieldsModel(TenantModel):
    """Base of every model with encrypted fields: ``row_uuid`` names the row in each value's
    binding. Subclasses that declare their own Meta inherit this one's to keep its
    constraint (``class Meta(EncryptedFieldsModel.Meta)``); a system check insists."""

    row_uuid = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "row_uuid"], name="%(app_label)s_%(class)s_row_uuid"
            )
        ]

    @classmethod
    def check(cls, **kwargs) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        # Two rows sharing a row_uuid could swap ciphertexts unnoticed.
        if not any(
            isinstance(constraint, models.UniqueConstraint)
            and tuple(constraint.fields) == ("organization", "row_uuid")
            for constraint in cls._meta.constraints
        ):
            errors.append(
                checks.Error(
                    "row_uuid must be unique per organisation.",
                    hint="Declare Meta as `class Meta(EncryptedFieldsModel.Meta)` and keep its "
                    "constraints.",
                    obj=cls,
                    id="keys.E002",
                )
            )
        return errors


class SubjectEncryptedFieldsModel(models.Model):
    """Base of every model with ``SubjectEncryptedTextField``s: ``subject_field`` names the
    foreign key to the person whose data key encrypts the row, and ``row_uuid`` (unique)
    names the row in each value's binding."""

    row_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    subject_field: ClassVar[str] = "user"

    class Meta:
        abstract = True

    def subject_id(self) -> int | None:
        return getattr(self, self._meta.get_field(self.subject_field).attname)

    @classmethod
    def check(cls, **kwargs) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        try:
            field = cls._meta.get_field(cls.subject_field)
        except FieldDoesNotExist:
            field = None
        if (
            field is None
            or field.related_model is None
            or (field.related_model._meta.label != settings.AUTH_USER_MODEL)
        ):
            errors.append(
                checks.Error(
                    f"subject_field {cls.subject_field!r} must name a foreign key to the user.",
                    obj=cls,
                    id="keys.E004",
                )
            )
        return errors


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def models_with_encrypted_fields() -> list[type[EncryptedFieldsModel]]:
    """Every installed model that stores organisations' encrypted values, for rotation (E5).
    People's values are under their own keys, which organisation rotation does not touch."""
    return [
        model
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and encrypted_fields(model)
    ]
