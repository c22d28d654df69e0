from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantModel


class ApiToken(TenantModel):
    """An organisation API token (A17). Only the digest of the token is stored
    (``tokens.format``); the token itself is shown once, at creation.

    A token acts as its owner, within its scopes: every request checks the owner's active
    membership and current role, so a token never outlives or exceeds its owner's access. It
    also ends when the owner's ``session_generation`` moves on (A10: password change,
    deactivation, role change, organisation-wide sign-out).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"
        ENDED = "ended", "Ended by a change to its owner's access"

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scopes = ArrayField(models.CharField(max_length=64))
    hint = models.CharField(max_length=32)
    digest = models.BinaryField(max_length=32, unique=True)
    owner_session_generation = models.PositiveIntegerField()
    # Created from a session verified by a second factor: the organisation's second-factor
    # rule (A4) treats the token's requests as verified only then.
    second_factor_verified = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # Addresses the token has been used from (most recent last, capped): a new one is an
    # audit event.
    known_ips = ArrayField(models.GenericIPAddressField(), default=list, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        db_table = "tokens_api_token"
        indexes = [models.Index(fields=["organization", "owner"], name="api_token_owner")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="api_token_expires"
            )
        ]

    def __str__(self) -> str:
        return f"API token {self.pk} ({self.hint}...)"

    def status(self, now: datetime | None = None) -> ApiToken.Status:
        """Needs ``owner`` loaded (the list selects it with the token)."""
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return self.Status.EXPIRED
        if (
            self.owner_session_generation != self.owner.session_generation
            or not self.owner.is_active
        ):
            return self.Status.ENDED
        return self.Status.ACTIVE


class RefreshToken(models.Model):
    """A token-mode refresh token (A8): single use, in a family that starts at sign-in.

    Each refresh marks the presented token used and issues the next one of its family. A used
    token that comes back is a replay (one of two holders stole it): the whole family is
    revoked, so both must sign in again. Only a digest is stored. Not tenant data: token mode
    signs a person in, before any organisation.
    """

    class EndReason(models.TextChoices):
        SIGNED_OUT = "signed_out", "Signed out"
        REUSED = "reused", "A used refresh token was presented again"
        REVOKED = "revoked", "The person's sessions were revoked"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    family_id = models.UUIDField(db_index=True)
    digest = models.BinaryField(max_length=32, unique=True)
    # The user's generation at sign-in (A10): a revocation raises it and the next refresh fails.
    session_generation = models.PositiveIntegerField()
    second_factor = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The family's end, fixed at sign-in: rotation does not extend it.
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)

    class Meta:
        db_table = "tokens_refresh_token"

    def __str__(self) -> str:
        return f"refresh token {self.pk} of {self.user_id}"
