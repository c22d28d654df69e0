"""Client accounts pages (D1, Z7, L5): the clients list with its add form and a client's page
with its contacts, the sites of its shifts, its Delete button and its timeline; internal
notes only for ``internal_note.view`` holders; refusals are 400 with nothing saved, 403 for a
role without ``client.view`` and 404 for another organisation's client; the list costs the
same queries for 10 or 60 clients; nothing inline that the Content-Security-Policy refuses."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from rbac.services import role_create
from tenants.context import tenant_context
from tests.factories import make_client, make_membership, make_user
from tests.portal.conftest import assert_csp_clean
from tests.workforce.conftest import NOTE
from workforce.models import Client

pytestmark = pytest.mark.django_db

ORG = "/o/alpha"
LIST = f"{ORG}/clients/"


def _detail(client) -> str:
    return f"{LIST}{client.pk}/"


def _acme(world) -> Client:
    return world.shifts["north"].client


def _clients(org) -> list[str]:
    with tenant_context(org):
        return list(Client.objects.order_by("name").values_list("name", flat=True))


@pytest.fixture
def clerk(world) -> HttpClient:
    """A custom role that sees and adds clients, without internal notes: every default role
    with client.view (owner, manager, auditor) holds internal_note.view too."""
    with tenant_context(world.org):
        role_create(name="Account clerk", permissions=["client.view", "client.create"])
    user = make_user("clerk@alpha.example")
    make_membership(world.org, user, role="account-clerk")
    client = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


def test_D1_Z7_the_owner_lists_clients_with_their_internal_notes(world):
    response = world.client("owner").get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    acme = _acme(world)
    assert f'<tr id="client-{acme.pk}">' in html and f'href="{_detail(acme)}">Acme</a>' in html
    assert "Other Ltd" in html
    assert ">Internal notes</th>" in html and NOTE in html
    assert "Add a client" in html
    assert_csp_clean(response)


def test_D1_Z7_a_member_without_internal_note_view_never_receives_the_notes(world, clerk):
    acme = _acme(world)
    for path in (LIST, _detail(acme)):
        response = clerk.get(path)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Acme" in html
        assert NOTE not in html and "Internal notes" not in html
    # The form has no notes field either: what you may not read you may not set (Z7).
    assert 'name="internal_notes"' not in clerk.get(LIST).content.decode()


def test_D1_L1_a_client_added_through_the_form_is_audited_and_opened(world):
    owner = world.client("owner")
    response = owner.post(LIST, {"name": "  Bravo Security  ", "internal_notes": "Pays late"})
    with tenant_context(world.org):
        client = Client.objects.get(name="Bravo Security")
        [event] = AuditEvent.objects.filter(action="client.created", entity_id=str(client.pk))
    assert response.status_code == 302 and response["Location"] == _detail(client)
    assert event.changes["name"] == [None, "Bravo Security"]
    assert event.changes["internal_notes"] == [None, "Pays late"]
    page = owner.get(response["Location"])
    html = page.content.decode()
    assert "The client “Bravo Security” is added." in html
    assert "Client: created" in html and "Pays late" in html
    assert_csp_clean(page)


@pytest.mark.parametrize(
    ("name", "message"),
    [("   ", "This field is required."), ("x" * 201, "at most 200 characters")],
)
def test_D1_an_empty_or_oversized_name_is_a_400_and_nothing_is_saved(world, name, message):
    before = _clients(world.org)
    response = world.client("owner").post(LIST, {"name": name})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _clients(world.org) == before
    assert_csp_clean(response)


def test_D1_a_name_with_markup_is_kept_as_text_and_shown_escaped(world):
    owner = world.client("owner")
    response = owner.post(LIST, {"name": "<script>alert(1)</script> Ltd"})
    assert response.status_code == 302
    for path in (LIST, response["Location"]):
        page = owner.get(path)
        html = page.content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd" in html
        assert "<script>alert(1)" not in html
        assert_csp_clean(page)


def test_D1_Z1_a_member_who_may_not_add_clients_is_refused_the_post(world, clerk):
    with tenant_context(world.org):
        role_create(name="Client reader", permissions=["client.view"])
    user = make_user("reader@alpha.example")
    make_membership(world.org, user, role="client-reader")
    reader = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    reader.force_login(user)
    listing = reader.get(LIST).content.decode()
    assert "Add a client" not in listing and "Clients appear here" not in listing
    assert reader.post(LIST, {"name": "Sneaky Ltd"}).status_code == 403
    assert "Sneaky Ltd" not in _clients(world.org)
    # The clerk adds one; its notes field is not there to fill.
    assert clerk.post(LIST, {"name": "Clerk Ltd", "internal_notes": "x"}).status_code == 302
    with tenant_context(world.org):
        assert Client.objects.get(name="Clerk Ltd").internal_notes == ""


@pytest.mark.parametrize("role", ["staff", "client"])
def test_Z1_roles_without_client_view_are_refused_both_pages(world, role):
    member = world.client(role)
    assert member.get(LIST).status_code == 403
    assert member.get(_detail(_acme(world))).status_code == 403
    assert member.post(LIST, {"name": "Sneaky Ltd"}).status_code == 403
    assert "Sneaky Ltd" not in _clients(world.org)


def test_T1_another_organisations_client_is_404(world, org_b):
    bravo_client = make_client(org_b, "Bravo Client", internal_notes="BRAVO-NOTE")
    owner = world.client("owner")
    assert owner.get(_detail(bravo_client)).status_code == 404
    assert "Bravo Client" not in owner.get(LIST).content.decode()
    intruder = make_user("intruder@bravo.example")
    make_membership(org_b, intruder, role="owner")
    bravo = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    bravo.force_login(intruder)
    assert bravo.get(f"/o/bravo/clients/{_acme(world).pk}/").status_code == 404
    assert bravo.get(_detail(_acme(world))).status_code in (403, 404)


def test_D1_D6_L5_the_client_page_shows_contacts_sites_delete_and_history(world):
    acme = _acme(world)
    response = world.client("owner").get(_detail(acme))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="record-heading">Acme</h1>' in html and NOTE in html
    contact = world.members["client"]
    assert f'id="contact-{contact.pk}"' in html and "client@alpha.example" in html
    assert "North Gate" in html and "Leeds Depot" in html and "South Yard" not in html
    assert f'action="{ORG}/clients/{acme.pk}/delete/"' in html and "Delete this client" in html
    assert "Client: created" in html
    assert_csp_clean(response)


def test_D1_Z4_the_sites_of_a_clients_shifts_follow_the_members_scope(world):
    # The manager sees north and leeds shifts; the other client's only shift is in south.
    other = world.shifts["south"].client
    html = world.client("manager").get(_detail(other)).content.decode()
    assert "South Yard" not in html and "No shifts for this client that you can see" in html
    assert "No contacts yet" in html
    assert "Delete this client" not in html  # managers hold no client.delete


def test_D1_the_empty_list_says_how_to_add_the_first_client(world):
    with tenant_context(world.org):
        Client.objects.update(deleted_at="2030-01-01T00:00Z")
    response = world.client("owner").get(LIST)
    assert response.status_code == 200
    assert "No clients yet. Add the first one with the form above" in response.content.decode()
    assert_csp_clean(response)


def test_D1_the_list_costs_the_same_queries_for_10_or_60_clients(world):
    owner = world.client("owner")

    def add(count: int) -> None:
        for _ in range(count):
            make_client(world.org, f"Client {len(_clients(world.org)):03}", internal_notes=NOTE)

    add(8)  # with Acme and Other Ltd: 10
    owner.get(LIST)  # warm caches (keys, sessions)
    with CaptureQueriesContext(connection) as few:
        assert owner.get(LIST).content.decode().count('<tr id="client-') == 10
    add(50)
    with CaptureQueriesContext(connection) as many:
        response = owner.get(LIST)
    assert response.content.decode().count('<tr id="client-') == 60
    assert len(many) == len(few), [query["sql"] for query in many.captured_queries]
