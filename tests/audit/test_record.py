"""L1/L2/L4: every service write leaves an event in the same transaction, with actor, role,
origin and only the changed fields; events cannot be changed or removed by any app role."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django.test import RequestFactory, override_settings
from django.utils import timezone

from audit import chain, selectors
from audit.context import Origin, acting_as, user_actor
from audit.models import AuditChainHead, AuditEvent
from audit.services import chain_key_for, event_fields
from config import network
from tenants.context import tenant_context
from tenants.models import Membership
from tenants.services import (
    guest_access_change_window,
    guest_access_grant,
    guest_access_revoke,
    membership_change_role,
)
from tests.factories import (
    TEST_PASSWORD,
    make_membership,
    make_sites,
    make_user,
)
from workforce.services import site_create

pytestmark = pytest.mark.django_db


def _events(org, **filters) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(**filters).order_by("seq"))


def test_L1_service_write_records_actor_role_origin_and_changes(org_a, member_of_a):
    origin = Origin(ip="203.0.113.9", user_agent="pytest-agent", request_id="req-1")
    with tenant_context(org_a), acting_as(user_actor(member_of_a, "admin"), origin):
        site = site_create(name="Harbour Gate", address="Quay 1")
    [event] = _events(org_a, action="site.created")
    assert (event.actor_type, event.actor_id, event.actor_label, event.actor_role) == (
        "user",
        str(member_of_a.pk),
        "ann@alpha.example",
        "admin",
    )
    assert (event.entity_type, event.entity_id) == ("workforce.site", str(site.pk))
    assert event.changes == {"name": [None, "Harbour Gate"], "address": [None, "Quay 1"]}
    assert (event.ip, event.user_agent, event.request_id) == (
        "203.0.113.9",
        "pytest-agent",
        "req-1",
    )


def test_L1_failed_write_leaves_no_event_and_no_chain_link(org_a):
    make_sites(org_a, 1, "Dup")
    with tenant_context(org_a):
        head_before = AuditChainHead.objects.get().last_seq
        # The duplicate name is refused by validation, inside the service's transaction.
        with pytest.raises(ValidationError, match="already exists"), transaction.atomic():
            site_create(name="Dup 0000")
        assert AuditChainHead.objects.get().last_seq == head_before
    assert _events(org_a, seq__gt=head_before) == []


def test_L1_events_chain_with_hmac_keyed_by_the_organisation_key(org_a, org_b):
    make_sites(org_a, 3)
    make_sites(org_b, 2)
    for org in (org_a, org_b):
        events = _events(org)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        previous = chain.GENESIS
        with tenant_context(org):
            _, key = chain_key_for(1)
        for event in events:
            assert bytes(event.prev_hmac) == previous
            expected = chain.chain_hmac(key, previous, chain.canonical(event_fields(event)))
            assert bytes(event.hmac) == expected
            previous = expected
    assert _events(org_a)[0].hmac != _events(org_b)[0].hmac


def test_L1_role_changes_and_guest_access_have_their_own_trails(org_a, member_of_a):
    guest = make_user("auditor@external.example")
    now = timezone.now()
    with tenant_context(org_a):
        membership = Membership.objects.get(user=member_of_a)
        membership_change_role(membership=membership, role=Membership.Role.MANAGER)
        grant = guest_access_grant(
            user=guest, role="staff", valid_from=now, valid_until=now + timedelta(days=7)
        )
        guest_access_change_window(
            membership=grant, valid_from=now, valid_until=now + timedelta(days=14)
        )
        guest_access_revoke(membership=grant)
        roles = list(selectors.role_change_trail().values_list("action", "changes"))
        guests = list(selectors.guest_access_trail().values_list("action", flat=True))
    assert roles[-1] == ("membership.role_changed", {"role": ["staff", "manager"]})
    assert [action for action, _ in roles] == ["membership.created", "membership.role_changed"]
    assert guests == [
        "guest_access.granted",
        "guest_access.window_changed",
        "guest_access.revoked",
    ]


def test_L1_sign_in_success_and_failure_are_recorded_in_each_organisation(
    portal_client, org_a, org_b, member_of_a
):
    make_membership(org_b, member_of_a)
    portal_client.post(
        "/accounts/login/",
        {"username": member_of_a.email, "password": "wrong"},
        REMOTE_ADDR="198.51.100.7",
    )
    portal_client.post(
        "/accounts/login/",
        {"username": member_of_a.email, "password": TEST_PASSWORD},
        HTTP_USER_AGENT="Firefox",
    )
    for org in (org_a, org_b):
        actions = [(e.action, e.actor_type) for e in _events(org, action__startswith="auth.")]
        assert actions == [("auth.sign_in_failed", "anonymous"), ("auth.signed_in", "user")]
    failed = _events(org_a, action="auth.sign_in_failed")[0]
    assert (failed.ip, failed.entity_id) == ("198.51.100.7", str(member_of_a.pk))
    assert _events(org_a, action="auth.signed_in")[0].user_agent == "Firefox"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'x'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
    ],
)
def test_L2_runtime_role_cannot_change_or_remove_audit_events(org_a, statement):
    make_sites(org_a, 1)
    with tenant_context(org_a), pytest.raises(ProgrammingError), transaction.atomic():
        connection.cursor().execute(statement)


class TestClientIp:
    factory = RequestFactory()

    def _ip(self, peer: str, forwarded: str | None = None) -> str | None:
        extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
        return network.client_ip(self.factory.get("/", REMOTE_ADDR=peer, **extra))

    @pytest.fixture(autouse=True)
    def _trusted(self):
        network._trusted_networks.cache_clear()
        with override_settings(PALISADE_TRUSTED_PROXIES=["10.0.0.0/8", "fd00::/8"]):
            yield
        network._trusted_networks.cache_clear()

    def test_L1_forwarded_for_from_an_untrusted_peer_is_ignored(self):
        assert self._ip("203.0.113.5", "1.2.3.4") == "203.0.113.5"

    def test_L1_forwarded_for_from_a_trusted_proxy_names_the_client(self):
        assert self._ip("10.1.1.1", "198.51.100.1, 10.2.2.2") == "198.51.100.1"
        assert self._ip("fd00::1", "2001:db8::7") == "2001:db8::7"

    def test_L1_a_client_cannot_spoof_by_prepending_addresses(self):
        assert self._ip("10.1.1.1", "6.6.6.6, 198.51.100.1") == "198.51.100.1"

    def test_L1_garbage_in_forwarded_for_falls_back_to_the_peer(self):
        assert self._ip("10.1.1.1", "not-an-ip") == "10.1.1.1"


def test_L1_values_the_canonical_form_cannot_hold_are_recorded_as_text(org_a):
    from decimal import Decimal

    from audit.services import audit_event_record

    with tenant_context(org_a):
        event = audit_event_record(
            action="test.values", changes={"big": [None, 10**30], "amount": [None, Decimal("1.10")]}
        )
    assert event.changes == {"big": [None, str(10**30)], "amount": [None, "1.10"]}
    [stored] = _events(org_a, action="test.values")
    assert stored.changes == event.changes
