"""T5 and the HTTP face of T2: organisation from the URL, membership checked, 404 for
anything that is not yours, constant query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tenants.context import tenant_context
from tenants.models import Membership, Organization
from tenants.selectors import organizations_for_user
from tests.factories import (
    TEST_PASSWORD,
    make_membership,
    make_organization,
    make_sites,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(portal_client, member_of_a):
    portal_client.force_login(member_of_a)
    return portal_client


def _api_names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {site["name"] for site in response.json()["results"]}


def test_T5_member_sees_own_sites_in_page_and_api(signed_in, org_a, org_b):
    make_sites(org_a, 2, "A")
    make_sites(org_b, 2, "B")
    page = signed_in.get("/o/alpha/sites/")
    assert page.status_code == 200
    assert b"A 0000" in page.content and b"B 0000" not in page.content
    assert _api_names(signed_in.get("/api/v1/o/alpha/sites/")) == {"A 0000", "A 0001"}


@pytest.mark.parametrize(
    "path",
    [
        "/o/bravo/sites/",
        "/o/no-such-org/sites/",
        "/o/ALPHA%27--/sites/",
        "/o/-/sites/",
        "/api/v1/o/bravo/sites/",
        "/api/v1/o/no-such-org/sites/",
        "/api/v1/o/%00/sites/",
    ],
)
def test_T5_other_unknown_or_malformed_organisation_is_404(signed_in, org_b, path):
    make_sites(org_b, 1, "B")
    response = signed_in.get(path)
    assert response.status_code == 404
    assert b"B 0000" not in response.content


def test_T5_other_and_unknown_organisations_answer_identically(signed_in, org_b):
    other = signed_in.get("/api/v1/o/bravo/sites/")
    unknown = signed_in.get("/api/v1/o/zulu/sites/")
    assert (other.status_code, other.content) == (unknown.status_code, unknown.content)


def test_T5_site_of_another_organisation_is_404_by_id(signed_in, org_b):
    [b_site] = make_sites(org_b, 1, "B")
    response = signed_in.get(f"/api/v1/o/alpha/sites/{b_site.pk}/")
    assert response.status_code == 404
    assert signed_in.get("/api/v1/o/alpha/sites/not-a-number/").status_code == 404
    assert signed_in.get("/api/v1/o/alpha/sites/99999999999999999999/").status_code == 404


def test_T5_organisation_is_never_taken_from_headers_or_cookies(signed_in, org_b):
    make_sites(org_b, 1, "B")
    signed_in.cookies["organization"] = str(org_b.pk)
    response = signed_in.get(
        "/api/v1/o/alpha/sites/", HTTP_X_ORGANIZATION=str(org_b.pk), data={"org": "bravo"}
    )
    assert _api_names(response) == set()


def test_T5_anonymous_requests_are_refused_without_revealing_organisations(portal_client, org_a):
    for slug in ("alpha", "zulu"):
        page = portal_client.get(f"/o/{slug}/sites/")
        assert page.status_code == 302
        assert page["Location"].startswith(reverse("login"))
        api = portal_client.get(f"/api/v1/o/{slug}/sites/")
        assert api.status_code == 401


def test_T5_suspended_organisation_is_404(signed_in, org_a):
    Organization.objects.filter(pk=org_a.pk).update(status=Organization.Status.SUSPENDED)
    assert signed_in.get("/api/v1/o/alpha/sites/").status_code == 404


@pytest.mark.parametrize(
    ("status", "starts_in", "ends_in"),
    [
        (Membership.Status.SUSPENDED, timedelta(days=-1), None),
        (Membership.Status.ACTIVE, timedelta(days=-2), timedelta(minutes=-1)),
        (Membership.Status.ACTIVE, timedelta(days=1), None),
    ],
    ids=["suspended", "expired", "not-yet-valid"],
)
def test_T5_inactive_expired_or_future_membership_is_404(
    signed_in, org_a, member_of_a, status, starts_in, ends_in
):
    now = timezone.now()
    with tenant_context(org_a):
        Membership.objects.filter(user=member_of_a).update(
            status=status, valid_from=now + starts_in, valid_until=ends_in and now + ends_in
        )
    assert signed_in.get("/api/v1/o/alpha/sites/").status_code == 404
    assert signed_in.get("/o/alpha/sites/").status_code == 404


def test_T2_list_costs_the_same_queries_for_10_and_1000_rows(signed_in, org_a):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get("/api/v1/o/alpha/sites/?page_size=200").status_code == 200
            assert signed_in.get("/o/alpha/sites/").status_code == 200
        return len(captured)

    make_sites(org_a, 10, "Small")
    small = queries_for_list()
    make_sites(org_a, 990, "Large")
    large = queries_for_list()
    assert small == large
    # session, user, organisation, context, membership, sites (+ savepoints) per request
    assert large <= 2 * 9


def test_T2_api_list_query_budget(signed_in, org_a, django_assert_max_num_queries):
    make_sites(org_a, 50, "Budget")
    with django_assert_max_num_queries(9):
        signed_in.get("/api/v1/o/alpha/sites/")


def test_A16_user_with_one_organisation_lands_in_it(signed_in):
    response = signed_in.get(reverse("organization-choose"))
    assert response.status_code == 302
    assert response["Location"] == "/o/alpha/"


def test_A16_user_with_several_organisations_chooses_and_sees_only_theirs(
    signed_in, org_b, member_of_a
):
    make_membership(org_b, member_of_a)
    make_organization("Charlie Cleaning", "charlie")
    response = signed_in.get(reverse("organization-choose"))
    assert response.status_code == 200
    assert [(o.slug, role) for o, role in response.context["memberships"]] == [
        ("alpha", "staff"),
        ("bravo", "staff"),
    ]


def test_A16_organisation_chooser_hides_expired_memberships(signed_in, org_b, member_of_a):
    make_membership(org_b, member_of_a, valid_until=timezone.now() + timedelta(seconds=1))
    with tenant_context(org_b):
        Membership.objects.filter(user=member_of_a).update(
            valid_from=timezone.now() - timedelta(days=2),
            valid_until=timezone.now() - timedelta(days=1),
        )
    response = signed_in.get(reverse("organization-choose"))
    assert response["Location"] == "/o/alpha/"


def test_own_membership_policy_shows_no_other_users_rows(org_a, member_of_a):
    other = make_user("bob@alpha.example")
    make_membership(org_a, other)
    assert [o.slug for o in organizations_for_user(other)] == ["alpha"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenants_membership")
        assert cursor.fetchone()[0] == 0


def test_sign_in_page_signs_in_and_routes_to_the_organisation(portal_client, member_of_a):
    response = portal_client.post(
        reverse("login"), {"username": member_of_a.email, "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/o/alpha/"
    portal_client.post(reverse("logout"))
    for username in ("nobody@alpha.example", member_of_a.email):
        wrong = portal_client.post(reverse("login"), {"username": username, "password": "nope"})
        assert wrong.status_code == 200
        assert b"Please enter a correct email and password." in wrong.content


def test_unknown_host_is_refused(client):
    assert client.get("/healthz", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/healthz", HTTP_HOST="app.localhost").status_code == 200


def test_T5_expired_or_forged_session_is_treated_as_anonymous(signed_in, org_a):
    session = signed_in.session
    session.set_expiry(-1)
    session.save()
    assert signed_in.get("/api/v1/o/alpha/sites/").status_code == 401
    signed_in.cookies["sessionid"] = "forged-session-key"
    page = signed_in.get("/o/alpha/sites/")
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("login"))


def test_A16_session_records_memberships_and_roles(portal_client, org_b, member_of_a):
    make_membership(org_b, member_of_a, role=Membership.Role.MANAGER)
    portal_client.post(reverse("login"), {"username": member_of_a.email, "password": TEST_PASSWORD})
    assert portal_client.session["palisade_memberships"] == [
        {"organization": "alpha", "name": "Alpha Guarding", "role": "staff"},
        {"organization": "bravo", "name": "Bravo Care", "role": "manager"},
    ]
