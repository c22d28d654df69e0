"""Object-level grants (Z9): single records shared with single users through django-guardian,
on top of what roles and visibility scopes allow, and ``can``, the one question that weighs
all three.

Grants live in ``workforce.DocumentGrant``, guardian's direct-foreign-key model made a tenant
table (RLS, composite same-organisation keys), so a grant is one organisation's row like any
other and guardian's generic, untenanted tables are never used.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.shortcuts import get_object_or_404
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from accounts.models import User
from audit.services import audit_event_record
from rbac.access import membership_has
from rbac.registry import ALL, BOARD_GUEST, SCOPED_MODULES
from rbac.scopes import scope_of, visible
from tenants.models import Membership
from workforce.models import Document, DocumentGrant

# Permission -> the guardian permission an object grant gives it (Django's codename).
OBJECT_GRANTS: dict[str, str] = {"document.view": "workforce.view_document"}
VIEW_DOCUMENT = "view_document"

NOT_A_MEMBER = "Documents are shared only with active members of this organisation."


def permitted(queryset: QuerySet, membership: Membership, permission_name: str) -> QuerySet:
    """``queryset`` narrowed to the rows the member may ``permission_name``: none without the
    role permission; otherwise those in their visibility scope (Z4) and those granted to
    their user one by one (Z9). Guardian's superuser shortcut is off, so a platform superuser
    who is also a member gets exactly what their membership gives."""
    if not membership_has(membership, permission_name):
        return queryset.none()
    subject = permission_name.split(".")[0]
    if subject not in SCOPED_MODULES or scope_of(membership, subject) == ALL:
        return queryset
    in_scope = visible(queryset, subject, membership)
    guardian_permission = OBJECT_GRANTS.get(permission_name)
    if guardian_permission is None:
        return in_scope
    granted = get_objects_for_user(
        membership.user,
        guardian_permission,
        klass=queryset,
        use_groups=False,
        with_superuser=False,
        accept_global_perms=False,
    )
    return in_scope | granted


def can(membership: Membership, permission_name: str, obj: Model | None = None) -> bool:
    """Whether the member may ``permission_name`` at all (``obj`` None) or on ``obj``."""
    if obj is None:
        return membership_has(membership, permission_name)
    one = type(obj)._default_manager.filter(pk=obj.pk)
    return permitted(one, membership, permission_name).exists()


def access_document_for(membership: Membership, permission_name: str, document_id: int):
    """The live document if the member may ``permission_name`` it; a 404 otherwise, alike
    for another organisation's id, a deleted one and one they may not see."""
    return get_object_or_404(
        permitted(Document.objects.all(), membership, permission_name), pk=document_id
    )


def shared_with(queryset: QuerySet[Document], membership: Membership) -> QuerySet[Document]:
    """``queryset`` narrowed to the documents granted to the member's user one by one, whatever
    else their role's scope shows them: what the client portal lists as shared (D6)."""
    return queryset.filter(
        grants__user_id=membership.user_id, grants__permission__codename=VIEW_DOCUMENT
    )


def document_grants(document: Document) -> QuerySet[DocumentGrant]:
    """Who ``document`` is shared with, earliest first."""
    return (
        DocumentGrant.objects.select_related("user")
        .filter(content_object=document, permission__codename=VIEW_DOCUMENT)
        .order_by("created_at", "id")
    )


def access_document_grant(document: Document, user_id: int) -> DocumentGrant:
    return get_object_or_404(document_grants(document), user_id=user_id)


def share_suggestions(document: Document) -> QuerySet[Membership]:
    """Whom a document's page suggests sharing it with: the active client contacts and board
    guests it is not shared with yet (their roles see documents only one by one). Anyone else
    who is an active member is named by email."""
    return (
        Membership.objects.active()
        .filter(Q(client__isnull=False) | Q(role=BOARD_GUEST))
        .exclude(user_id__in=document_grants(document).values("user_id"))
        .select_related("user", "client")
        .order_by("user__full_name", "user__email", "id")
    )


def active_member(email: str) -> Membership | None:
    """The active membership of the current organisation whose user has this email."""
    return (
        Membership.objects.active()
        .select_related("user", "client")
        .filter(user__email__iexact=email.strip())
        .first()
    )


def member_user(user_id: int) -> User:
    """The user of an active membership of the current organisation. An unknown id and a
    user of another organisation get the same 400, so it reveals nothing about either."""
    membership = Membership.objects.active().select_related("user").filter(user_id=user_id)
    found = membership.first()
    if found is None:
        raise ValidationError({"user_id": NOT_A_MEMBER})
    return found.user


@transaction.atomic
def document_share(*, document: Document, user: User, granted_by: Membership) -> DocumentGrant:
    """Lets ``user`` read ``document`` (Z9). Sharing twice keeps the first grant and its
    granter (guardian's ``assign_perm`` is a get-or-create)."""
    if not Membership.objects.active().filter(user=user).exists():
        raise ValidationError({"user_id": NOT_A_MEMBER})
    grant = assign_perm(VIEW_DOCUMENT, user, document)
    if grant.granted_by_id is None:
        grant.granted_by = granted_by
        grant.save(update_fields=["granted_by"])
    audit_event_record(
        action="document.shared",
        entity=document,
        changes={"user": [None, user.pk], "permission": [None, VIEW_DOCUMENT]},
    )
    return grant


@transaction.atomic
def document_unshare(*, document: Document, user: User) -> None:
    """Withdraws ``user``'s grant on ``document``; what their role and scope give stays."""
    remove_perm(VIEW_DOCUMENT, user, document)
    audit_event_record(
        action="document.unshared",
        entity=document,
        changes={"user": [user.pk, None], "permission": [VIEW_DOCUMENT, None]},
    )
