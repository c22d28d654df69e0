"""Reads of the audit log, all within the current organisation (RLS and the tenant manager)."""

from django.apps import apps
from django.db.models import QuerySet
from django.http import Http404

from audit.chain import canonical, leaf_hash
from audit.models import AuditEvent
from audit.services import event_fields
from tenants.context import current_organization_id
from tenants.models import Organization, TenantModel

# L4: the role-change trail and the guest-access lifecycle trail.
ROLE_CHANGE_ACTIONS = ("membership.created", "membership.role_changed")
GUEST_ACCESS_ACTION_PREFIX = "guest_access."


def events() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.order_by("seq")


def role_change_trail() -> QuerySet[AuditEvent]:
    return events().filter(action__in=ROLE_CHANGE_ACTIONS)


def guest_access_trail() -> QuerySet[AuditEvent]:
    return events().filter(action__startswith=GUEST_ACCESS_ACTION_PREFIX)


def entity_timeline(entity_type: str, entity_id: int) -> QuerySet[AuditEvent]:
    """Every event about one record (L5), if the record exists in this organisation.

    Unknown types and records of other organisations are 404, so the timeline cannot be used
    to probe for ids.
    """
    try:
        model = apps.get_model(entity_type)
    except (LookupError, ValueError) as error:
        raise Http404("Unknown record type") from error
    if model is Organization:
        visible = entity_id == current_organization_id()
    else:
        visible = issubclass(model, TenantModel) and model.objects.filter(pk=entity_id).exists()
    if not visible:
        raise Http404("No such record")
    return events().filter(entity_type=model._meta.label_lower, entity_id=str(entity_id))


def leaf_hashes(tree_size: int) -> list[bytes]:
    """The Merkle leaf hashes of the first ``tree_size`` events (for proofs)."""
    return [
        leaf_hash(canonical(event_fields(event)), bytes(event.hmac))
        for event in events().filter(seq__lte=tree_size).iterator(chunk_size=5000)
    ]
