"""A4/A9: the organisation's security policy exists from the start and every change is
recorded; a second-factor grace period cannot be extended without a stated reason."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.models import MAX_ABSOLUTE_TIMEOUT_HOURS, SecurityPolicy, max_idle_timeout_minutes
from tenants.services import security_policy_update

pytestmark = pytest.mark.django_db

REQUIRED = SecurityPolicy.SecondFactorRequirement.ALL


def test_A9_every_organisation_starts_with_a_policy(org_a, org_b):
    with tenant_context(org_a):
        policy = SecurityPolicy.objects.get()
    assert (policy.idle_timeout_minutes, policy.absolute_timeout_hours) == (30, 12)
    with tenant_context(org_b):
        assert SecurityPolicy.objects.count() == 1


def test_A4_grace_period_extension_needs_a_reason_and_is_recorded(org_a):
    soon = timezone.now() + timedelta(days=7)
    with tenant_context(org_a):
        security_policy_update(second_factor_required=REQUIRED, second_factor_grace_until=soon)
        with pytest.raises(ValidationError, match="stated reason"):
            security_policy_update(second_factor_grace_until=soon + timedelta(days=7))
        assert SecurityPolicy.objects.get().second_factor_grace_until == soon
        security_policy_update(
            second_factor_grace_until=soon + timedelta(days=7),
            reason="Board agreed two more weeks for the rollout",
        )
        security_policy_update(second_factor_grace_until=soon)  # shortening needs no reason
        events = list(AuditEvent.objects.filter(action="security_policy.updated"))
    assert len(events) == 3
    assert events[1].changes["reason"] == [None, "Board agreed two more weeks for the rollout"]


@pytest.mark.parametrize(
    "changes",
    [
        {"idle_timeout_minutes": 0},
        # Longer than the session cookie lives, or than a month: the service's bounds, not
        # only the page's.
        {"idle_timeout_minutes": max_idle_timeout_minutes() + 1},
        {"absolute_timeout_hours": MAX_ABSOLUTE_TIMEOUT_HOURS + 1},
        {"idle_timeout_minutes": 15, "absolute_timeout_hours": 10**6},
        {"second_factor_required": "sometimes"},
        {"colour": "red"},
    ],
)
def test_A9_invalid_policy_changes_are_refused_whole(org_a, changes):
    with tenant_context(org_a):
        with pytest.raises(ValidationError):
            security_policy_update(**changes)
        assert not AuditEvent.objects.filter(action="security_policy.updated").exists()
        policy = SecurityPolicy.objects.get()
    assert (policy.idle_timeout_minutes, policy.absolute_timeout_hours) == (30, 12)
