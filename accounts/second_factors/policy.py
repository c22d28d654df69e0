"""An organisation's rule that its members (or its owners and admins) use a second factor (A4).

The rule is ``tenants.SecurityPolicy.second_factor_required``; changing it, and any grace
period, goes through ``tenants.services.security_policy_update``, which records every change
and refuses to extend a grace period without a stated reason.

Checked on every request inside an organisation, from the policy that the tenant middleware's
membership query already carries (no query of its own unless the rule applies):
- a session verified by a second factor satisfies it;
- otherwise, until the grace period ends, pages carry a banner linking to enrolment;
- after it (or with no grace period), the organisation's pages send the person to set up a
  second factor (or to verify the one they have) and its API answers 403. Their own account
  pages stay open, so enrolling is always possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from accounts.second_factors.selectors import has_second_factor
from tenants.models import Membership, SecurityPolicy

Requirement = SecurityPolicy.SecondFactorRequirement
ADMIN_ROLES = {Membership.Role.OWNER, Membership.Role.ADMIN}
REQUIRED_NOTICE = (
    "{organization} requires a second factor. Set one up to continue; you can reach your "
    "account pages meanwhile."
)


@dataclass(frozen=True)
class SecondFactorDemand:
    """The organisation requires a second factor of this member, who has not verified one."""

    grace_until: datetime | None

    @property
    def enforced(self) -> bool:
        return self.grace_until is None or timezone.now() >= self.grace_until


def requirement_applies(required: str | None, role: str) -> bool:
    return required == Requirement.ALL or (required == Requirement.ADMINS and role in ADMIN_ROLES)


def second_factor_demand(request: HttpRequest, membership: Membership) -> SecondFactorDemand | None:
    required = getattr(membership, "second_factor_required", None)
    if not requirement_applies(required, membership.role) or request.user.is_verified():
        return None
    return SecondFactorDemand(grace_until=membership.second_factor_grace_until)


class SecondFactorPolicyMiddleware:
    """Runs inside the tenant context, after the tenant middleware has found the membership."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = getattr(request, "membership", None)
        demand = second_factor_demand(request, membership) if membership is not None else None
        if demand is not None and demand.enforced:
            return self._refuse(request)
        # Read by base.html: the banner during the grace period.
        request.second_factor_grace_until = demand.grace_until if demand else None
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest) -> HttpResponse:
        notice = REQUIRED_NOTICE.format(organization=request.organization.name)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": notice, "code": "second_factor_required"}, status=403)
        messages.warning(request, notice)
        if has_second_factor(request.user):
            # Enrolled already (from another session): verifying it here is enough.
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('security-step-up')}?{query}")
        return redirect("security")
