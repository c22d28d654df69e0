from django.conf import settings
from django.db import models
from django.utils import timezone

from keys.fields import EncryptedFieldsModel, EncryptedTextField
from tenants.models import TenantModel


class Keyring(TenantModel):
    """An organisation's key-encryption key, as its provider holds it. One per organisation.

    ``wrapped_kek`` is the KEK wrapped by the local master key (local provider) and empty for
    AWS KMS, where the KEK never leaves KMS and ``kms_key_id`` names it. Shredding empties it.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        DESTROYED = "destroyed", "Destroyed"

    provider = models.CharField(max_length=32)
    kms_key_id = models.CharField(max_length=2048, blank=True)
    wrapped_kek = models.BinaryField(blank=True, default=b"")
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "keys_keyring"
        constraints = [models.UniqueConstraint(fields=["organization"], name="one_keyring_per_org")]

    def __str__(self) -> str:
        return f"keyring of {self.organization_id} ({self.provider}, {self.state})"


class DataKey(TenantModel):
    """One version of an organisation's data key, wrapped by its KEK. The highest version is
    used for new encryption; older versions stay for reading until re-encryption retires
    them."""

    version = models.PositiveIntegerField()
    wrapped_key = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "keys_data_key"
        constraints = [
            models.UniqueConstraint(fields=["organization", "version"], name="data_key_version")
        ]

    def __str__(self) -> str:
        return f"data key v{self.version} of {self.organization_id}"


class IntegrationSecret(EncryptedFieldsModel):
    """A credential Palisade uses to reach another system for one organisation (E3): an SSO
    or SCIM client secret, a payroll API token, a webhook signing secret. ``name`` says which
    integration it serves and is not secret; ``secret`` is encrypted."""

    name = models.CharField(max_length=100)
    secret = EncryptedTextField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta(EncryptedFieldsModel.Meta):
        db_table = "keys_integration_secret"
        constraints = [
            *EncryptedFieldsModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["organization", "name"], name="integration_secret_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SubjectKey(models.Model):
    """One person's data key (E3, E6), wrapped by the platform key provider: the local master
    key, or the platform KMS key named by ``kms_key_id``. It encrypts the values that belong to
    that person rather than to an organisation (``SubjectEncryptedTextField``). Created on
    first use; shredding empties ``wrapped_key``, after which those values cannot be read."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        DESTROYED = "destroyed", "Destroyed"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    provider = models.CharField(max_length=32)
    kms_key_id = models.CharField(max_length=2048, blank=True)
    wrapped_key = models.BinaryField(blank=True, default=b"")
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "keys_subject_key"

    def __str__(self) -> str:
        return f"data key of user {self.user_id} ({self.provider}, {self.state})"
