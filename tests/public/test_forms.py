"""D7: an organisation's recruitment and demo-request forms: open to anyone, CSRF-protected,
bot-resistant (honeypot, time trap), validated, stored as that organisation's tenant rows,
audited, and rate-limited per network under the stricter public-form policy."""

from __future__ import annotations

import copy
import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.models import Organization
from tests.factories import make_organization
from workforce.models import PublicSubmission

pytestmark = pytest.mark.django_db

JOIN = "/join/alpha/"
DEMO = "/demo/alpha/"


def visitor(**kwargs) -> Client:
    return Client(HTTP_HOST=settings.PORTAL_HOST, **kwargs)


def served_stamp(page) -> str:
    found = re.search(r'name="served" value="([^"]+)"', page.content.decode())
    assert found, "the form carries no served-at stamp"
    return found.group(1)


def answers(**changes) -> dict[str, str]:
    return {
        "name": "Dee Applicant",
        "email": "dee@example.com",
        "phone": "+44 20 7946 0000",
        "message": "Five years of door supervision.",
        "website": "",
        **changes,
    }


def submit(client: Client, url: str = JOIN, *, after: float = 5.0, **changes):
    """Opens the form, then sends it ``after`` seconds later, as a person would."""
    page = client.get(url)
    assert page.status_code == 200
    data = answers(served=served_stamp(page), **changes)
    with time_machine.travel(timezone.now() + timedelta(seconds=after), tick=False):
        return client.post(url, data)


def submissions(organization: Organization) -> list[PublicSubmission]:
    with tenant_context(organization):
        return list(PublicSubmission.objects.all())


def events(organization: Organization, action: str) -> list[AuditEvent]:
    with tenant_context(organization):
        return list(AuditEvent.objects.filter(action=action))


@pytest.fixture
def alpha():
    return make_organization("Alpha Guarding", "alpha")


@pytest.mark.parametrize(
    ("url", "kind"), [(JOIN, "recruitment"), (DEMO, "demo_request")], ids=["join", "demo"]
)
def test_D7_a_person_submits_and_it_is_stored_in_that_organisation_and_audited(alpha, url, kind):
    bravo = make_organization("Bravo Care", "bravo")
    response = submit(visitor(), url, message="<script>alert(1)</script> & more")
    assert response.status_code == 302 and response["Location"] == f"{url}thanks/"
    [row] = submissions(alpha)
    assert (row.kind, row.name, row.email) == (kind, "Dee Applicant", "dee@example.com")
    assert row.message == "<script>alert(1)</script> & more"  # verbatim
    assert submissions(bravo) == []
    [event] = events(alpha, "public_submission.created")
    assert event.actor_type == "anonymous" and event.actor_label == ""
    assert event.changes == {"kind": [None, kind]}
    assert "dee@example.com" not in str(event.changes)
    thanks = visitor().get(response["Location"])
    assert thanks.status_code == 200 and b"Thank you" in thanks.content


def test_D7_what_was_typed_is_rendered_escaped(alpha):
    response = submit(visitor(), email="not-an-email", name="<b>Dee</b>")
    assert b"<b>Dee</b>" not in response.content
    assert b"&lt;b&gt;Dee&lt;/b&gt;" in response.content


def test_D7_the_honeypot_trips_and_nothing_is_stored(alpha):
    response = submit(visitor(), website="https://spam.example")
    assert response.status_code == 302  # thanked like anyone, learns nothing
    assert submissions(alpha) == []
    assert events(alpha, "public_submission.created") == []


def test_D7_a_submission_sooner_than_three_seconds_is_refused(alpha):
    response = submit(visitor(), after=1.0)
    assert response.status_code == 400
    assert b"quicker than we expected" in response.content
    assert submissions(alpha) == []


def test_D7_a_form_older_than_an_hour_is_refused(alpha):
    response = submit(visitor(), after=3601.0)
    assert response.status_code == 400 and b"open for too long" in response.content
    assert submissions(alpha) == []


def test_D7_a_missing_or_forged_stamp_is_refused(alpha):
    client = visitor()
    client.get(JOIN)
    assert client.post(JOIN, answers()).status_code == 400
    assert client.post(JOIN, answers(served="e30:forged:stamp")).status_code == 400
    assert submissions(alpha) == []


def test_D7_a_stamp_of_another_organisation_or_form_is_refused(alpha):
    make_organization("Bravo Care", "bravo")
    client = visitor()
    stamp = served_stamp(client.get("/join/bravo/"))
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        assert client.post(JOIN, answers(served=stamp)).status_code == 400
    stamp = served_stamp(client.get(DEMO))
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        assert client.post(JOIN, answers(served=stamp)).status_code == 400
    assert submissions(alpha) == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", b"Enter a valid email address."),
        ({"name": "   "}, "name", b"This field is required."),
        ({"name": "x" * 201}, "name", b"at most 200 characters"),
        ({"message": "x" * 5001}, "message", b"at most 5000 characters"),
        ({"phone": "call me maybe"}, "phone", b"Use digits, spaces"),
    ],
    ids=["email", "blank-name", "long-name", "long-message", "phone"],
)
def test_D7_invalid_input_is_a_400_form_with_the_message(alpha, changes, field, message):
    response = submit(visitor(), **changes)
    assert response.status_code == 400
    assert message in response.content
    assert f'id="{field}-errors"'.encode() in response.content
    assert submissions(alpha) == []


def test_D7_correcting_a_mistake_keeps_the_form_going(alpha):
    client = visitor()
    refused = submit(client, email="dee@")
    assert refused.status_code == 400
    with time_machine.travel(timezone.now() + timedelta(seconds=10), tick=False):
        sent = client.post(JOIN, answers(served=served_stamp(refused)))
    assert sent.status_code == 302
    assert len(submissions(alpha)) == 1


@pytest.mark.parametrize("status", ["suspended", "offboarded"])
def test_D7_unknown_or_inactive_organisations_are_404(alpha, status):
    client = visitor()
    for url in ("/join/nobody/", "/demo/nobody/", "/join/nobody/thanks/"):
        assert client.get(url).status_code == 404
    Organization.objects.filter(pk=alpha.pk).update(status=status)
    for url in (JOIN, DEMO, f"{JOIN}thanks/"):
        assert client.get(url).status_code == 404
    assert client.post(JOIN, answers()).status_code == 404
    assert submissions(alpha) == []


def test_D7_methods_the_forms_do_not_take_are_405_and_store_nothing(alpha):
    client = visitor()
    for url in (JOIN, DEMO):
        for method in ("put", "patch", "delete"):
            refused = getattr(client, method)(url)
            assert refused.status_code == 405, (method, url)
            assert refused["Allow"] == "GET, HEAD, POST"
    for url in (f"{JOIN}thanks/", f"{DEMO}thanks/"):
        assert client.post(url).status_code == 405
    assert submissions(alpha) == []


def test_D7_csrf_is_enforced(alpha):
    client = visitor(enforce_csrf_checks=True)
    page = client.get(JOIN)
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        refused = client.post(JOIN, answers(served=served_stamp(page)))
        assert refused.status_code == 403
        assert submissions(alpha) == []
        token = re.search(
            r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()
        ).group(1)
        sent = client.post(JOIN, answers(served=served_stamp(page), csrfmiddlewaretoken=token))
    assert sent.status_code == 302
    assert len(submissions(alpha)) == 1


def test_D7_the_forms_are_rate_limited_per_network_under_the_public_form_policy(alpha, settings):
    settings.PALISADE_RATELIMIT_ENABLED = True
    settings.PALISADE_RATELIMIT_KEY_PREFIX = f"test:{uuid.uuid4().hex}"
    policies = copy.deepcopy(settings.PALISADE_RATELIMIT_POLICIES)
    policies["public-form"]["quotas"] = [(3, 3600)]
    policies["default"]["quotas"] = [(1000, 60)]  # only the stricter policy is under test
    settings.PALISADE_RATELIMIT_POLICIES = policies
    client = visitor(REMOTE_ADDR="203.0.113.7")
    assert submit(client).status_code == 302  # GET + POST: two of three
    assert client.get(DEMO).status_code == 200  # the demo form shares the network's quota
    refused = client.post(JOIN, answers())
    assert refused.status_code == 429 and "Retry-After" in refused
    assert len(submissions(alpha)) == 1
    # Another network has its own quota.
    other = visitor(REMOTE_ADDR="198.51.100.9")
    assert other.get(JOIN).status_code == 200
