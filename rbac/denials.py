"""The record of a refusal (L1): every request a permission check turns away leaves an
``access.denied`` event saying what was asked for and what it needed, whichever check refused
it (a view's declaration, ``rbac.middleware``, or a rule beside it such as
``rbac.fields.ReceivesEveryGuardedField``)."""

from __future__ import annotations

from audit.services import audit_event_record_durably


def access_denied_record(request, *, entity_type: str, permission: str | None) -> None:
    """Records, durably (the refused request's own transaction rolls back), that ``request``
    was refused for want of ``permission`` (a name, or alternatives joined by "or", or several
    needed together joined by "and")."""
    audit_event_record_durably(
        request,
        action="access.denied",
        entity_type=entity_type,
        changes={
            "path": [None, request.path],
            "method": [None, request.method],
            "permission": [None, permission],
        },
    )
