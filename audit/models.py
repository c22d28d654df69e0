from django.db import models
from django.utils import timezone

from keys.fields import EncryptedFieldsModel, EncryptedTextField
from tenants.models import TenantModel


class AuditEvent(TenantModel):
    """One audit event (L1) in its organisation's HMAC chain (L3).

    Append-only: ``tenants.rls`` installs triggers that reject UPDATE, DELETE and TRUNCATE for
    every role (L2). Written only by ``audit.services.audit_event_record``.
    """

    append_only = True

    seq = models.BigIntegerField()
    occurred_at = models.DateTimeField(default=timezone.now)
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    actor_role = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=100)
    entity_type = models.CharField(max_length=100, blank=True)
    entity_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    key_version = models.PositiveIntegerField()
    prev_hmac = models.BinaryField()
    hmac = models.BinaryField()

    class Meta:
        db_table = "audit_event"
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "seq"], name="audit_event_seq")
        ]
        indexes = [
            models.Index(
                fields=["organization", "entity_type", "entity_id", "seq"],
                name="audit_event_entity_idx",
            ),
            models.Index(fields=["organization", "action", "seq"], name="audit_event_action_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label or self.actor_type}"


class AuditChainHead(TenantModel):
    """The newest link of an organisation's chain: serialises writers (SELECT ... FOR UPDATE)
    and lets ``audit_verify`` notice a deleted tail. Not evidence by itself: the events are."""

    last_seq = models.BigIntegerField(default=0)
    last_hmac = models.BinaryField()

    class Meta:
        db_table = "audit_chain_head"
        constraints = [models.UniqueConstraint(fields=["organization"], name="audit_head_per_org")]

    def __str__(self) -> str:
        return f"head of {self.organization_id} at {self.last_seq}"


class AuditCheckpoint(TenantModel):
    """A signed statement of the organisation's log (L9): "the first ``tree_size`` events have
    Merkle root ``root_hash``", signed with the platform's Ed25519 key. ``document`` is the
    exact signed checkpoint an organisation downloads and keeps; ``frontier`` holds the
    Merkle subtree roots so the next checkpoint continues from here. Append-only."""

    append_only = True

    tree_size = models.BigIntegerField()
    document = models.JSONField()
    frontier = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "audit_checkpoint"
        ordering = ["tree_size"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "tree_size"], name="checkpoint_size")
        ]

    def __str__(self) -> str:
        return f"checkpoint of {self.organization_id} at {self.tree_size}"


class AuditSink(EncryptedFieldsModel):
    """A webhook the organisation streams its audit events to, for its own monitoring and
    alerting (L8). Configured and delivered by ``audit.streaming``.

    ``url`` is encrypted as well as ``secret``: many receivers (chat and incident tools) carry
    their own credential in the URL. The delivery state is what the status view shows; it
    never holds the secret or the URL.
    """

    class Status(models.TextChoices):
        OK = "ok", "OK"
        RETRYING = "retrying", "Retrying"
        FAILING = "failing", "Failing"

    name = models.CharField(max_length=100)
    url = EncryptedTextField()
    secret = EncryptedTextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Every event up to this seq has been accepted by the receiver (a 2xx answer).
    last_delivered_seq = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OK)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta(EncryptedFieldsModel.Meta):
        db_table = "audit_sink"

    def __str__(self) -> str:
        return self.name
