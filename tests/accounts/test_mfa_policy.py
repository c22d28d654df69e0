"""A4: an organisation can require a second factor of every member, or of its owners and
admins. During the grace period members without one see a banner; after it (or without one)
the organisation's pages send them to set one up and its API refuses, while their account
pages stay open. A session verified by a second factor satisfies the rule."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tenants.context import tenant_context
from tenants.models import Membership, SecurityPolicy
from tenants.services import security_policy_update
from tests.accounts.mfa_helpers import browser, enrol_totp, next_step_code
from tests.factories import make_membership, make_user

pytestmark = pytest.mark.django_db

Requirement = SecurityPolicy.SecondFactorRequirement
PAGE, API = "/o/alpha/sites/", "/api/v1/o/alpha/sites/"


def _require(org, requirement: str, grace_until=None) -> None:
    with tenant_context(org):
        security_policy_update(
            second_factor_required=requirement, second_factor_grace_until=grace_until
        )


def _signed_in(user):
    client = browser()
    client.force_login(user)
    return client


def test_A4_during_the_grace_period_members_see_a_banner_and_keep_working(org_a, member_of_a):
    _require(org_a, Requirement.ALL, timezone.now() + timedelta(days=7))
    client = _signed_in(member_of_a)
    page = client.get(PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Alpha Guarding requires a second factor from" in text
    assert 'href="/account/security/"' in text
    assert client.get(API).status_code == 200


def test_A4_after_the_grace_period_only_enrolment_is_open(org_a, member_of_a):
    grace_until = timezone.now() + timedelta(days=7)
    _require(org_a, Requirement.ALL, grace_until)
    with time_machine.travel(grace_until + timedelta(minutes=1), tick=False):
        client = _signed_in(member_of_a)
        page = client.get(PAGE)
        assert page.status_code == 302
        assert page["Location"] == "/account/security/"
        notice = client.get(page["Location"]).content.decode()
        assert "Alpha Guarding requires a second factor" in notice
        api = client.get(API)
        assert api.status_code == 403
        assert api.json()["code"] == "second_factor_required"

        enrol_totp(client)  # enrolling verifies this session with the new factor
        after = client.get(PAGE)
        assert after.status_code == 200
        assert "requires a second factor" not in after.content.decode()
        assert client.get(API).status_code == 200


def test_A4_without_a_grace_period_the_rule_applies_at_once(org_a, member_of_a):
    _require(org_a, Requirement.ALL)
    assert _signed_in(member_of_a).get(PAGE)["Location"] == "/account/security/"


def test_A4_admins_only_applies_to_owners_and_admins(org_a, member_of_a):
    admin = make_user("adam@alpha.example")
    make_membership(org_a, admin, role=Membership.Role.ADMIN)
    _require(org_a, Requirement.ADMINS)
    assert _signed_in(member_of_a).get(PAGE).status_code == 200  # staff
    assert _signed_in(admin).get(PAGE)["Location"] == "/account/security/"


def test_A4_an_enrolled_member_whose_session_was_not_verified_verifies_it(org_a, member_of_a):
    _require(org_a, Requirement.ALL)
    earlier = _signed_in(member_of_a)
    app, _ = enrol_totp(_signed_in(member_of_a))
    response = earlier.get(PAGE)
    assert response["Location"] == "/account/security/verify/?next=%2Fo%2Falpha%2Fsites%2F"
    verified = earlier.post(
        "/account/security/verify/",
        {"method": "totp", "code": next_step_code(app), "next": PAGE},
    )
    assert verified["Location"] == PAGE
    assert earlier.get(PAGE).status_code == 200


def test_A4_one_organisations_rule_does_not_reach_another(org_a, org_b, member_of_a):
    make_membership(org_b, member_of_a)
    _require(org_a, Requirement.ALL)
    client = _signed_in(member_of_a)
    assert client.get(PAGE).status_code == 302
    assert client.get("/o/bravo/sites/").status_code == 200
