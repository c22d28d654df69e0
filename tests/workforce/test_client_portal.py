"""Z8, Z7: the client portal is a site of its own; its frame works without the web portal's
account pages, so a signed-in client contact sees a 404 page for a wrong address, not an
error, and can sign out from every page."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_Z8_a_signed_in_client_gets_a_404_page_for_an_unknown_address(world):
    client = world.client("client", host=settings.CLIENT_HOST)
    response = client.get("/o/alpha/no-such-page/")
    assert response.status_code == 404
    assert b"Not found" in response.content
    assert b"/accounts/logout/" in response.content


def test_Z8_client_pages_offer_sign_out_and_no_web_portal_account_links(world):
    client = world.client("client", host=settings.CLIENT_HOST)
    page = client.get("/o/alpha/shifts/")
    assert page.status_code == 200
    assert b'action="/accounts/logout/"' in page.content
    assert b"/account/" not in page.content
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/o/alpha/shifts/").status_code == 302  # back to sign-in
