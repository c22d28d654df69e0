"""Invitations (A2, A3): an admin invites an address; the invitee proves it with an emailed
one-time code, chooses a password (or, with an existing account, just joins) and becomes a
member. Links and codes are stored only as keyed hashes; every step is audited, including
refusals."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.mail import send_templated_email
from accounts.models import User
from accounts.services import user_create
from audit.services import audit_event_record
from rbac.services import role_assignable_by, role_by_key
from tenants.context import current_organization_id, tenant_context
from tenants.models import Invitation, Membership, Organization
from tenants.services import membership_create

INVITATION_LIFETIME = timedelta(days=7)
CODE_LIFETIME = timedelta(minutes=15)
CODE_RESEND_INTERVAL = timedelta(seconds=60)
MAX_CODE_ATTEMPTS = 5
# A link token carries the organisation's short id, so the invitation (tenant data, under
# RLS) can be looked up inside its own organisation's context and nowhere else.
LINK_SEPARATOR = "."


class InvitationRefused(Exception):
    """A clear, user-facing reason why an invitation cannot be used."""


def _digest(purpose: str, value: str) -> str:
    return salted_hmac(f"palisade.invitation.{purpose}", value, algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    link_token: str


@transaction.atomic
def invitation_create(*, email: str, role: str, invited_by: User) -> IssuedInvitation:
    """Invites ``email`` to the current organisation and emails the link."""
    email = User.objects.normalize_email(email).strip().lower()
    invited_role = role_by_key(role)
    if invited_role.time_boxed:
        raise ValidationError(
            {"role": f"The {invited_role.name} role is time-boxed: grant it as guest access."}
        )
    inviter = Membership.objects.select_related("role_definition").filter(user=invited_by).first()
    role_assignable_by(invited_role, inviter)
    if Membership.objects.filter(user__email=email).exists():
        raise ValidationError({"email": "This person is already a member."})
    Invitation.objects.filter(email=email, accepted_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    organization = Organization.objects.get(pk=current_organization_id())
    secret = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email,
        role=role,
        invited_by=invited_by,
        token_digest=_digest("token", secret),
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    invitation.full_clean(exclude=["invited_by"])
    invitation.save()
    audit_event_record(
        action="invitation.created",
        entity=invitation,
        changes={"email": [None, email], "role": [None, role]},
    )
    link_token = f"{organization.short_id}{LINK_SEPARATOR}{secret}"
    transaction.on_commit(
        lambda: send_templated_email(
            to=email,
            template="invitation",
            context={
                "organization": organization,
                "inviter": invited_by.get_full_name(),
                "role": invited_role.name,
                "expires_at": invitation.expires_at,
                "link": f"{settings.PALISADE_PORTAL_URL}"
                + reverse("invitation-accept", args=[link_token]),
            },
        )
    )
    return IssuedInvitation(invitation=invitation, link_token=link_token)


INVALID_LINK = "This invitation link is not valid. Ask your administrator for a new one."


@contextmanager
def invitation_for_link(link_token: str) -> Iterator[Invitation]:
    """Enters the invitation's organisation and yields the still-usable invitation.

    Unknown, malformed, expired and revoked links all get the same message; a link that was
    already used says so (its holder learns nothing new) and the attempt is recorded.
    """
    short_id, _, secret = link_token.partition(LINK_SEPARATOR)
    organization = Organization.objects.filter(
        short_id=short_id, status=Organization.Status.ACTIVE
    ).first()
    if organization is None or not secret:
        raise InvitationRefused(INVALID_LINK)
    refusal = None
    with tenant_context(organization):
        invitation = Invitation.objects.filter(token_digest=_digest("token", secret)).first()
        if invitation is None or (invitation.accepted_at is None and not invitation.is_open):
            refusal = INVALID_LINK
        elif invitation.accepted_at is not None:
            # Recorded in this context's transaction, which commits before the refusal is
            # raised below.
            audit_event_record(action="invitation.reuse_refused", entity=invitation)
            refusal = "This invitation has already been used. Sign in instead."
        else:
            yield invitation
    if refusal:
        raise InvitationRefused(refusal)


def _locked(invitation: Invitation) -> Invitation:
    return Invitation.objects.select_for_update().get(pk=invitation.pk)


@transaction.atomic
def invitation_send_code(*, invitation: Invitation) -> bool:
    """Emails a fresh one-time code unless one was sent in the last minute (A3)."""
    invitation = _locked(invitation)
    now = timezone.now()
    if invitation.code_sent_at and now - invitation.code_sent_at < CODE_RESEND_INTERVAL:
        return False
    code = f"{secrets.randbelow(10**6):06d}"
    invitation.code_digest = _digest("code", f"{invitation.pk}:{code}")
    invitation.code_sent_at = now
    invitation.code_attempts = 0
    invitation.save(update_fields=["code_digest", "code_sent_at", "code_attempts"])
    audit_event_record(action="invitation.code_sent", entity=invitation)
    organization = Organization.objects.get(pk=invitation.organization_id)
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    transaction.on_commit(
        lambda: send_templated_email(
            to=invitation.email,
            template="invitation_code",
            context={"organization": organization, "code": code, "minutes": minutes},
        )
    )
    return True


def invitation_verify_code(*, invitation: Invitation, code: str) -> Invitation:
    """Checks the emailed code; a wrong one counts against a small budget (A3)."""
    with transaction.atomic():
        invitation = _locked(invitation)
        if invitation.email_verified_at is not None:
            return invitation
        expired = (
            not invitation.code_digest
            or invitation.code_sent_at is None
            or timezone.now() - invitation.code_sent_at > CODE_LIFETIME
        )
        if expired or invitation.code_attempts >= MAX_CODE_ATTEMPTS:
            failure = (
                "invitation.code_expired" if expired else "invitation.code_attempts_exhausted",
                "This code has expired or too many attempts were made. Ask for a new code.",
            )
        else:
            expected = invitation.code_digest
            given = _digest("code", f"{invitation.pk}:{code.strip()}")
            if constant_time_compare(expected, given):
                invitation.email_verified_at = timezone.now()
                invitation.save(update_fields=["email_verified_at"])
                audit_event_record(action="invitation.email_verified", entity=invitation)
                return invitation
            invitation.code_attempts += 1
            invitation.save(update_fields=["code_attempts"])
            failure = ("invitation.code_rejected", "That code is not right. Check the email.")
        audit_event_record(action=failure[0], entity=invitation)
    raise InvitationRefused(failure[1])


@transaction.atomic
def invitation_accept(*, invitation: Invitation, password: str | None) -> Membership:
    """Turns a verified invitation into a membership, creating the account if needed.

    ``password`` is required for a new account and ignored for an existing one (that person
    signs in with their own password)."""
    invitation = _locked(invitation)
    if invitation.accepted_at is not None:
        raise InvitationRefused("This invitation has already been used. Sign in instead.")
    if invitation.email_verified_at is None:
        raise InvitationRefused("Confirm your email address with the code first.")
    user = User.objects.filter(email=invitation.email).first()
    if user is None:
        if not password:
            raise ValidationError({"password": "Choose a password."})
        user = user_create(email=invitation.email, password=password)
        user.email_verified_at = invitation.email_verified_at
        user.save(update_fields=["email_verified_at"])
    membership = membership_create(user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_event_record(
        action="invitation.accepted", entity=invitation, changes={"user": [None, user.pk]}
    )
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> Invitation:
    invitation = _locked(invitation)
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_event_record(action="invitation.revoked", entity=invitation)
    return invitation
