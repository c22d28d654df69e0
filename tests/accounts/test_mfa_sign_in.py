"""A1, A4, A7: the sign-in pipeline through real HTTP (Django's test client).

Step 1 (email and password) says the same thing, in about the same time, whether the email is
unknown or the password wrong. A person with a second factor is not signed in by the password
alone: step 2 is tied to a short-lived pending state that expired, tampered or lost state
cannot continue, and only its success signs them in, with a new session key.
"""

import re
import statistics
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts import sign_in
from accounts.models import User
from accounts.services import password_change
from tests.accounts.mfa_helpers import (
    SECOND_FACTOR_PAGE,
    browser,
    enrol_totp,
    events,
    is_signed_in,
    next_step_code,
    sign_in_password,
    verify,
)
from tests.factories import TEST_PASSWORD, make_user

pytestmark = pytest.mark.django_db

GENERIC_ERROR = "Please enter a correct email and password."


@pytest.fixture
def app(member_of_a):
    """Ann's authenticator app, enrolled through the pages in a session of its own."""
    client = browser()
    client.force_login(member_of_a)
    totp, _ = enrol_totp(client)
    return totp


def _page_without_tokens(response) -> str:
    text = response.content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return re.sub(r'id="id_username"[^>]*>', "", text)  # echoes what was typed


def _session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_A1_unknown_email_wrong_password_and_inactive_account_look_the_same(org_a, member_of_a):
    inactive = make_user("ina@alpha.example")
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    unknown = sign_in_password(browser(), "nobody@alpha.example")
    wrong = sign_in_password(browser(), member_of_a.email, "not " + TEST_PASSWORD)
    disabled = sign_in_password(browser(), inactive.email)

    assert unknown.status_code == wrong.status_code == disabled.status_code == 200
    assert GENERIC_ERROR in unknown.content.decode()
    assert _page_without_tokens(unknown) == _page_without_tokens(wrong)
    assert _page_without_tokens(unknown) == _page_without_tokens(disabled)
    assert [e.entity_id for e in events(org_a, "auth.sign_in_failed")] == [str(member_of_a.pk)]


def _timed(attempt) -> float:
    started = time.perf_counter()
    attempt()
    return time.perf_counter() - started


def test_A1_unknown_email_and_wrong_password_take_similar_time(member_of_a):
    """The equaliser is Django's ModelBackend, which runs the Argon2id hasher for an unknown
    email too. Medians of 21 attempts each, interleaved after a warm-up."""
    client = browser()

    def unknown() -> None:
        assert sign_in_password(client, "nobody@alpha.example").status_code == 200

    def wrong() -> None:
        assert (
            sign_in_password(client, member_of_a.email, "not " + TEST_PASSWORD).status_code == 200
        )

    unknown(), wrong()
    samples = [(_timed(unknown), _timed(wrong)) for _ in range(21)]
    unknown_median = statistics.median(u for u, _ in samples)
    wrong_median = statistics.median(w for _, w in samples)
    print(  # the measured figures, for the record (pytest -s)
        f"\nsign-in refusal: unknown email {unknown_median * 1000:.1f} ms, "
        f"wrong password {wrong_median * 1000:.1f} ms"
    )
    assert abs(unknown_median - wrong_median) <= max(0.3 * min(unknown_median, wrong_median), 0.005)


def test_A7_password_only_sign_in_rotates_the_session_key_and_routes_to_the_organisation(
    member_of_a,
):
    client = browser()
    session = client.session
    session["before_sign_in"] = True
    session.save()
    planted = session.session_key

    response = sign_in_password(client, member_of_a.email)

    assert response.status_code == 302
    assert response["Location"] == "/orgs/"
    assert _session_key(client) != planted
    assert client.get("/orgs/")["Location"] == "/o/alpha/"


def test_A4_the_password_alone_does_not_sign_in_a_person_with_a_second_factor(
    org_a, member_of_a, app
):
    client = browser()
    response = sign_in_password(client, member_of_a.email)
    assert response.status_code == 302
    assert response["Location"] == SECOND_FACTOR_PAGE
    assert not is_signed_in(client)
    assert client.get("/o/alpha/sites/").status_code == 302  # to sign-in, not the page

    page = client.get(SECOND_FACTOR_PAGE)
    assert page.status_code == 200
    assert "Code from your authenticator app" in page.content.decode()
    assert "Recovery code" in page.content.decode()
    assert "passkey" not in page.content.decode().lower()  # only the methods Ann has

    refused = verify(client, "totp", "000000")
    assert refused.status_code == 400
    assert "That code is not valid" in refused.content.decode()
    assert not is_signed_in(client)
    [failure] = events(org_a, "auth.second_factor_failed")
    assert failure.actor_type == "anonymous"
    assert failure.changes["method"] == [None, "totp"]
    assert failure.changes["purpose"] == [None, "sign_in"]


def test_A7_the_second_factor_signs_in_with_a_new_session_key(org_a, member_of_a, app):
    client = browser()
    sign_in_password(client, member_of_a.email)
    pending_key = _session_key(client)

    response = verify(client, "totp", next_step_code(app))

    assert response.status_code == 302
    assert response["Location"] == "/orgs/"
    assert _session_key(client) != pending_key
    assert client.cookies[sign_in.COOKIE].value == ""  # the pending cookie is deleted
    assert is_signed_in(client)
    assert client.get("/orgs/")["Location"] == "/o/alpha/"
    [signed_in] = events(org_a, "auth.signed_in")[-1:]
    assert signed_in.changes == {"second_factor": [None, "totp"]}
    assert signed_in.actor_id == str(member_of_a.pk)


def test_A4_next_is_kept_through_the_second_factor_and_only_if_it_is_local(member_of_a, app):
    client = browser()
    client.post(
        "/accounts/login/",
        {"username": member_of_a.email, "password": TEST_PASSWORD, "next": "/o/alpha/sites/"},
    )
    assert verify(client, "totp", next_step_code(app))["Location"] == "/o/alpha/sites/"

    other = browser()
    other.post(
        "/accounts/login/",
        {"username": member_of_a.email, "password": TEST_PASSWORD, "next": "https://evil.example/"},
    )
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        assert verify(other, "totp", app.now())["Location"] == "/orgs/"


def _assert_sent_back_to_sign_in(client, response) -> None:
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    page = client.get(response["Location"])
    assert "Your sign-in could not be continued" in page.content.decode()
    assert not is_signed_in(client)


def test_A4_a_pending_sign_in_expires(org_a, member_of_a, app):
    client = browser()
    sign_in_password(client, member_of_a.email)
    later = timezone.now() + timedelta(seconds=settings.PALISADE_SIGN_IN_PENDING_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        _assert_sent_back_to_sign_in(client, verify(client, "totp", app.now()))
        # Nothing is left to continue: the state went with the refusal.
        _assert_sent_back_to_sign_in(client, client.get(SECOND_FACTOR_PAGE))
    [rejected] = events(org_a, "auth.sign_in_state_rejected")
    assert rejected.changes["reason"] == [None, "expired"]


def test_A7_a_tampered_session_cookie_ends_the_pending_sign_in(org_a, member_of_a, app):
    client = browser()
    sign_in_password(client, member_of_a.email)
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32

    _assert_sent_back_to_sign_in(client, verify(client, "totp", next_step_code(app)))
    [rejected] = events(org_a, "auth.sign_in_state_rejected")
    assert rejected.changes["reason"] == [None, "session_lost"]
    assert rejected.entity_id == str(member_of_a.pk)


def test_A7_a_tampered_sign_in_cookie_ends_the_pending_sign_in_for_good(org_a, member_of_a, app):
    client = browser()
    sign_in_password(client, member_of_a.email)
    genuine = client.cookies[sign_in.COOKIE].value
    client.cookies[sign_in.COOKIE] = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")

    _assert_sent_back_to_sign_in(client, verify(client, "totp", next_step_code(app)))
    # No partial state: the genuine cookie cannot pick the sign-in up again.
    client.cookies[sign_in.COOKIE] = genuine
    _assert_sent_back_to_sign_in(client, verify(client, "totp", next_step_code(app)))
    reasons = [e.changes["reason"][1] for e in events(org_a, "auth.sign_in_state_rejected")]
    assert reasons == ["tampered", "session_lost"]


def test_A7_a_sign_in_cookie_from_another_browser_does_not_fit(org_a, member_of_a, app):
    first, second = browser(), browser()
    sign_in_password(first, member_of_a.email)
    sign_in_password(second, member_of_a.email)
    first.cookies[sign_in.COOKIE] = second.cookies[sign_in.COOKIE].value

    _assert_sent_back_to_sign_in(first, verify(first, "totp", next_step_code(app)))
    [rejected] = events(org_a, "auth.sign_in_state_rejected")
    assert rejected.changes["reason"] == [None, "mismatch"]


def test_A4_a_password_change_during_the_second_step_ends_it(org_a, member_of_a, app):
    client = browser()
    sign_in_password(client, member_of_a.email)
    password_change(user=member_of_a, new_password="a different passphrase 2024")

    _assert_sent_back_to_sign_in(client, verify(client, "totp", next_step_code(app)))
    [rejected] = events(org_a, "auth.sign_in_state_rejected")
    assert rejected.changes["reason"] == [None, "account_changed"]


def test_A4_opening_the_second_step_without_signing_in_goes_back_to_the_first(org_a):
    client = browser()
    _assert_sent_back_to_sign_in(client, client.get(SECOND_FACTOR_PAGE))
    assert events(org_a, "auth.sign_in_state_rejected") == []  # nobody to attribute it to


def test_A4_too_many_wrong_codes_end_the_pending_sign_in(org_a, member_of_a, app):
    client = browser()
    sign_in_password(client, member_of_a.email)
    for _ in range(sign_in.MAX_FAILURES - 1):
        assert verify(client, "totp", "000000").status_code == 400
    response = verify(client, "totp", "000000")
    assert response["Location"] == "/accounts/login/"
    assert "Too many attempts" in client.get("/accounts/login/").content.decode()
    assert len(events(org_a, "auth.second_factor_failed")) == sign_in.MAX_FAILURES
    [rejected] = events(org_a, "auth.sign_in_state_rejected")
    assert rejected.changes["reason"] == [None, "too_many_failures"]
