"""Documents pages (D4, D6): the web portal's list with expiry and filing, a document's page
with its timeline (L5) and sharing (Z9), and the client portal's shared documents; scopes
(Z4), withheld fields (Z7), other organisations and the Content-Security-Policy (O10)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from rbac.grants import document_share
from tenants.context import tenant_context
from tests.factories import (
    make_document,
    make_issued_document,
    make_membership,
    make_user,
)
from tests.portal.conftest import assert_csp_clean
from tests.workforce.conftest import NOTE
from workforce.models import Document, DocumentGrant, IssuedDocument
from workforce.services import record_soft_delete

pytestmark = pytest.mark.django_db

ORG = "/o/alpha"
LIST = f"{ORG}/documents/"


def _detail(document) -> str:
    return f"{ORG}/documents/{document.pk}/"


def _client_host(world) -> HttpClient:
    return world.client("client", host=settings.CLIENT_HOST)


@pytest.fixture
def papers(world):
    """A document for the staff member (with an internal note) and one for south_staff."""
    today = timezone.localdate()
    return {
        "staff": make_document(
            world.org,
            world.members["staff"],
            "Door supervisor licence",
            today + timedelta(days=200),
            internal_notes=NOTE,
        ),
        "south": make_document(world.org, world.members["south_staff"], "South first aid"),
    }


def _share(world, document, who: str = "owner", to: str = "client"):
    return world.client(who).post(f"{_detail(document)}share/", {"email": world.users[to].email})


def _grants(world, document) -> int:
    with tenant_context(world.org):
        return DocumentGrant.objects.filter(content_object=document).count()


# --- the list (D4, Z4, Z7) ------------------------------------------------------------------


def test_D4_staff_sees_their_own_documents_and_the_owner_everyone_s(world, papers):
    response = world.client("staff").get(LIST)
    assert response.status_code == 200
    assert_csp_clean(response)
    page = response.content.decode()
    assert f'id="document-{papers["staff"].pk}"' in page
    assert f"document-{papers['south'].pk}" not in page and "South first aid" not in page
    # Z7: staff do not receive internal notes, not even on their own documents.
    assert NOTE not in page and "Internal notes" not in page
    assert "File a document" not in page  # no document.create
    owner = world.client("owner").get(LIST).content.decode()
    for document in papers.values():
        assert f'id="document-{document.pk}"' in owner
    assert NOTE in owner and "File a document" in owner


def test_D4_expiry_is_highlighted_and_filtered(world):
    today = timezone.localdate()
    member = world.members["staff"]
    expired = make_document(world.org, member, "Old badge", today - timedelta(days=1))
    soon = make_document(world.org, member, "First aid", today + timedelta(days=10))
    later = make_document(world.org, member, "Licence", today + timedelta(days=90))
    lasting = make_document(world.org, member, "Induction")
    owner = world.client("owner")

    def row(page: str, document) -> str:
        found = re.search(rf'<tr id="document-{document.pk}">.*?</tr>', page, re.DOTALL)
        return found.group(0) if found else ""

    page = owner.get(LIST).content.decode()
    assert "Expired" in row(page, expired)
    assert "Expires soon" in row(page, soon)
    assert "Valid" in row(page, later)
    assert "Does not expire" in row(page, lasting)
    only_expired = owner.get(f"{LIST}?status=expired").content.decode()
    assert row(only_expired, expired) and not row(only_expired, soon)
    assert not row(only_expired, later)
    expiring = owner.get(f"{LIST}?status=expiring").content.decode()
    assert row(expiring, soon) and not row(expiring, expired) and not row(expiring, later)
    assert not row(expiring, lasting) and not row(only_expired, lasting)
    # An unknown filter is a 400 that says so, over the whole list.
    bad = owner.get(f"{LIST}?status=lost")
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    assert row(bad.content.decode(), later)
    with tenant_context(world.org):
        record_soft_delete(record=expired)
    assert "No document has expired." in owner.get(f"{LIST}?status=expired").content.decode()


def test_D4_an_empty_list_tells_the_member_what_to_do(world):
    staff = world.client("staff").get(LIST).content.decode()
    assert "Documents your manager files for you appear here." in staff
    owner = world.client("owner").get(LIST).content.decode()
    assert "File the first one with the form above" in owner


def test_D4_issued_documents_are_listed_for_those_who_may_see_them(world):
    own = make_issued_document(
        world.org, world.members["staff"], title="Your contract", body="<script>x()</script>"
    )
    other = make_issued_document(world.org, world.members["south_staff"], title="South letter")
    response = world.client("staff").get(LIST)
    assert_csp_clean(response)  # the body's markup is text, not a script
    page = response.content.decode()
    assert f'id="issued-{own.pk}"' in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    assert f"issued-{other.pk}" not in page and "South letter" not in page
    assert "Contracts and letters" not in _client_host(world).get(LIST).content.decode()


def _same_queries(client, path: str, add) -> None:
    """``path`` costs the same queries after ``add`` brought its 10 rows to 60."""
    add(10)
    client.get(path)  # warm caches (keys, sessions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(path).status_code == 200
    add(50)
    with CaptureQueriesContext(connection) as many:
        response = client.get(path)
    assert response.content.decode().count('<tr id="document-') == 60
    assert len(many) == len(few), [query["sql"] for query in many.captured_queries]


def _add_documents(world, count: int, *, shared: bool = False) -> None:
    today = timezone.localdate()
    for index in range(count):
        document = make_document(
            world.org, world.members["staff"], f"Doc {index:03}", today + timedelta(days=index)
        )
        if shared:
            with tenant_context(world.org):
                document_share(
                    document=document,
                    user=world.users["client"],
                    granted_by=world.members["owner"],
                )


def test_D4_the_list_costs_the_same_queries_for_10_or_60_documents(world):
    _same_queries(world.client("owner"), LIST, lambda count: _add_documents(world, count))


def test_D6_the_shared_list_costs_the_same_queries_for_10_or_60_documents(world):
    _same_queries(
        _client_host(world), LIST, lambda count: _add_documents(world, count, shared=True)
    )


# --- filing a document (D4) -----------------------------------------------------------------


def test_D4_a_manager_files_a_document_for_someone_in_scope_and_it_is_audited(world):
    expires = timezone.localdate() + timedelta(days=365)
    manager = world.client("manager")
    response = manager.post(
        LIST,
        {
            "member": world.members["staff"].pk,
            "title": "  Site induction  ",
            "expires_on": expires.isoformat(),
            "internal_notes": "Checked by HR",
        },
    )
    assert response.status_code == 302 and response["Location"] == LIST
    with tenant_context(world.org):
        document = Document.objects.get(title="Site induction")
        assert document.member == world.members["staff"]
        assert document.expires_on == expires and document.internal_notes == "Checked by HR"
        assert AuditEvent.objects.filter(
            action="document.created", entity_id=str(document.pk)
        ).exists()
    page = manager.get(LIST).content.decode()
    assert "The document “Site induction” is filed." in page


def test_D4_bad_input_is_a_400_with_messages_and_saves_nothing(world):
    manager = world.client("manager")
    staff_id = world.members["staff"].pk
    long_title = manager.post(LIST, {"member": staff_id, "title": "x" * 201})
    assert long_title.status_code == 400
    assert "at most 200 characters" in long_title.content.decode()
    assert_csp_clean(long_title)
    # Z4: south is outside the manager's scope, so not a choice.
    outside = manager.post(LIST, {"member": world.members["south_staff"].pk, "title": "Badge"})
    assert outside.status_code == 400 and "Select a valid choice" in outside.content.decode()
    for member in ("abc", "9" * 30, ""):
        assert manager.post(LIST, {"member": member, "title": "Badge"}).status_code == 400
    bad_date = manager.post(LIST, {"member": staff_id, "title": "Badge", "expires_on": "31/02"})
    assert bad_date.status_code == 400 and "Enter a valid date" in bad_date.content.decode()
    with tenant_context(world.org):
        assert not Document.objects.exists()
        assert not AuditEvent.objects.filter(action="document.created").exists()


def test_D4_markup_in_a_title_is_shown_as_text(world):
    title = '<img src=x onerror="alert(1)">'
    world.client("owner").post(LIST, {"member": world.members["staff"].pk, "title": title})
    with tenant_context(world.org):
        document = Document.objects.get()
    for path in (LIST, _detail(document)):
        response = world.client("staff").get(path)
        page = response.content.decode()
        assert title not in page and "&lt;img src=x" in page
        assert_csp_clean(response)


def test_Z1_roles_without_the_permission_get_403(world, papers):
    staff = world.client("staff")
    assert (
        staff.post(LIST, {"member": world.members["staff"].pk, "title": "Mine"}).status_code == 403
    )
    assert _share(world, papers["staff"], who="staff").status_code == 403
    assert _grants(world, papers["staff"]) == 0
    admin = make_user("ada@alpha.example")
    make_membership(world.org, admin, role="admin")
    admin_client = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    admin_client.force_login(admin)
    assert admin_client.get(LIST).status_code == 403  # administrative: no documents
    with tenant_context(world.org):
        assert Document.objects.count() == 2


# --- a document's page (L5, Z4, Z7) ---------------------------------------------------------


def test_L5_a_document_page_shows_its_fields_and_timeline_without_withheld_values(world, papers):
    response = world.client("staff").get(_detail(papers["staff"]))
    assert response.status_code == 200
    assert_csp_clean(response)
    page = response.content.decode()
    assert "Door supervisor licence" in page and "Document: created" in page
    assert NOTE not in page  # neither the field nor its value in the timeline
    assert "Shared with" not in page  # staff may not share
    owner = world.client("owner").get(_detail(papers["staff"])).content.decode()
    assert NOTE in owner and "Shared with" in owner


def test_G6_the_owner_deletes_a_document_from_its_page_and_staff_see_no_button(world, papers):
    document = papers["staff"]
    assert "Delete" not in world.client("staff").get(_detail(document)).content.decode()
    owner = world.client("owner")
    page = owner.get(_detail(document)).content.decode()
    version = re.search(r'name="version" value="([^"]+)"', page)[1]
    deleted = owner.post(f"{ORG}/documents/{document.pk}/delete/", {"version": version})
    assert deleted.status_code == 302
    assert owner.get(_detail(document)).status_code == 404
    assert "Door supervisor licence" in owner.get(f"{ORG}/deleted/").content.decode()
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(action="document.deleted").count() == 1


def test_Z4_staff_cannot_open_another_members_document(world, papers):
    staff = world.client("staff")
    assert staff.get(_detail(papers["south"])).status_code == 404
    manager = world.client("manager")  # north: leeds, not south
    assert manager.get(_detail(papers["south"])).status_code == 404
    assert manager.get(_detail(papers["staff"])).status_code == 200


def test_T1_another_organisations_documents_are_404_both_ways(world, papers, org_b):
    bravo_owner = make_user("owner@bravo.example")
    bravo_member = make_membership(org_b, bravo_owner, role="owner")
    bravo_document = make_document(org_b, bravo_member, "Bravo secret")
    owner = world.client("owner")
    assert owner.get(_detail(bravo_document)).status_code == 404
    shared_abroad = owner.post(
        f"{_detail(bravo_document)}share/", {"email": world.users["client"].email}
    )
    assert shared_abroad.status_code == 404
    assert "Bravo secret" not in owner.get(LIST).content.decode()
    bravo = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    bravo.force_login(bravo_owner)
    assert bravo.get(f"/o/bravo/documents/{papers['staff'].pk}/").status_code == 404
    assert bravo.get(_detail(papers["staff"])).status_code in (403, 404)
    assert "Door supervisor licence" not in bravo.get("/o/bravo/documents/").content.decode()
    shared = bravo.post(
        f"/o/bravo/documents/{papers['staff'].pk}/share/", {"email": "owner@bravo.example"}
    )
    assert shared.status_code == 404
    assert _grants(world, papers["staff"]) == 0


# --- sharing (Z9) and the client portal (D6, Z7) --------------------------------------------


def test_Z9_a_shared_document_appears_on_the_client_portal_and_unsharing_removes_it(world, papers):
    client = _client_host(world)
    before = client.get(LIST)
    assert before.status_code == 200
    assert_csp_clean(before)
    assert "No documents have been shared with you yet." in before.content.decode()

    response = _share(world, papers["staff"])
    assert response.status_code == 302 and response["Location"] == _detail(papers["staff"])
    detail = world.client("owner").get(_detail(papers["staff"]))
    assert_csp_clean(detail)
    page = detail.content.decode()
    assert f'id="shared-{world.users["client"].pk}"' in page and "Document: shared" in page

    shared = client.get(LIST)
    assert_csp_clean(shared)
    page = shared.content.decode()
    assert f'id="document-{papers["staff"].pk}"' in page and "Door supervisor licence" in page
    # Z7: the client host withholds internal notes whatever the role says.
    assert NOTE not in page and "Internal notes" not in page
    assert "South first aid" not in page
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(
            action="document.shared", entity_id=str(papers["staff"].pk)
        ).exists()

    unshare = f"{_detail(papers['staff'])}shared/{world.users['client'].pk}/unshare/"
    assert world.client("owner").post(unshare).status_code == 302
    assert "Door supervisor licence" not in client.get(LIST).content.decode()
    assert world.client("owner").post(unshare).status_code == 404  # no grant any more
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(
            action="document.unshared", entity_id=str(papers["staff"].pk)
        ).exists()


def test_Z9_sharing_needs_an_active_member_s_email_and_a_document_in_scope(world, papers, org_b):
    owner = world.client("owner")
    make_membership(org_b, make_user("someone@bravo.example"))
    for email, message in [
        ("nobody@alpha.example", "No active member of this organisation has that email"),
        ("someone@bravo.example", "No active member of this organisation has that email"),
        ("abc", "Enter a valid email address"),
        ("", "This field is required"),
        ("x" * 300 + "@alpha.example", "Ensure this value has at most"),
    ]:
        response = owner.post(f"{_detail(papers['staff'])}share/", {"email": email})
        assert response.status_code == 400, email
        assert message in response.content.decode(), email
    assert_csp_clean(response)
    manager = world.client("manager")
    assert _share(world, papers["south"], who="manager").status_code == 404
    assert _grants(world, papers["south"]) == 0 and _grants(world, papers["staff"]) == 0
    assert manager.get(f"{_detail(papers['staff'])}share/").status_code == 405
    # A manager may share what is in their scope; the address is matched whatever its case.
    shared = manager.post(f"{_detail(papers['staff'])}share/", {"email": "CLIENT@alpha.example"})
    assert shared.status_code == 302
    assert _grants(world, papers["staff"]) == 1
    again = _share(world, papers["staff"])
    assert again.status_code == 400
    assert "already shared with them" in again.content.decode()
    assert _grants(world, papers["staff"]) == 1


def test_Z9_the_page_suggests_client_contacts_and_board_guests_not_yet_shared(world, papers):
    guest = make_user("board@alpha.example")
    make_membership(
        world.org, guest, role="board_guest", valid_until=timezone.now() + timedelta(days=30)
    )
    suggestions = re.compile(r'<datalist id="share-suggestions">(.*?)</datalist>', re.DOTALL)

    def suggested() -> str:
        page = world.client("owner").get(_detail(papers["staff"])).content.decode()
        return suggestions.search(page)[1]

    offered = suggested()
    assert 'value="client@alpha.example"' in offered and "(Acme)" in offered
    assert 'value="board@alpha.example"' in offered and "(board guest)" in offered
    assert "staff@alpha.example" not in offered  # anyone else is typed in
    assert _share(world, papers["staff"]).status_code == 302
    assert 'value="client@alpha.example"' not in suggested()


def test_Z9_a_board_guest_or_a_member_outside_the_scope_sees_a_shared_document(world, papers):
    guest = make_user("board@alpha.example")
    make_membership(
        world.org, guest, role="board_guest", valid_until=timezone.now() + timedelta(days=30)
    )
    board = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    board.force_login(guest)
    assert "Door supervisor licence" not in board.get(LIST).content.decode()
    assert board.get(_detail(papers["staff"])).status_code == 404

    response = world.client("owner").post(
        f"{_detail(papers['staff'])}share/", {"email": "board@alpha.example"}, follow=True
    )
    assert "They see it under Documents on the web portal." in response.content.decode()
    assert "Door supervisor licence" in board.get(LIST).content.decode()
    page = board.get(_detail(papers["staff"]))
    assert page.status_code == 200 and NOTE not in page.content.decode()

    # South's staff member does not see Leeds's documents by scope; a grant shows this one.
    assert world.client("south_staff").get(_detail(papers["staff"])).status_code == 404
    assert _share(world, papers["staff"], to="south_staff").status_code == 302
    assert world.client("south_staff").get(_detail(papers["staff"])).status_code == 200


def test_Z7_a_client_contact_never_sees_unshared_documents_or_internal_notes(world, papers):
    _share(world, papers["staff"])
    make_document(world.org, world.members["staff"], "Unshared payslip", internal_notes=NOTE)
    client = _client_host(world)
    page = client.get(LIST).content.decode()
    assert "Unshared payslip" not in page and NOTE not in page
    assert "South first aid" not in page
    # The client host has no document page and no sharing.
    assert client.get(_detail(papers["staff"])).status_code == 404
    assert client.post(f"{_detail(papers['staff'])}share/").status_code == 404
    # On the web portal the contact's role (Z7) still withholds the notes, page and timeline.
    portal = world.client("client")
    listed = portal.get(LIST).content.decode()
    assert "Door supervisor licence" in listed
    assert "Unshared payslip" not in listed and NOTE not in listed
    detail = portal.get(_detail(papers["staff"]))
    assert detail.status_code == 200 and NOTE not in detail.content.decode()
    assert "Shared with" not in detail.content.decode()


def test_D6_the_client_navigation_links_the_shared_documents(world):
    page = _client_host(world).get(LIST).content.decode()
    nav = re.search(r'<nav class="orgnav".*?</nav>', page, re.DOTALL).group(0)
    assert f'href="{LIST}" aria-current="page">Documents</a>' in nav


# --- contracts and letters (D4) -------------------------------------------------------------

ISSUE = f"{ORG}/documents/issue/"


def _issued(world) -> list:
    with tenant_context(world.org):
        return list(IssuedDocument.objects.order_by("id"))


def _contract(world, member: str = "staff", **overrides) -> dict:
    return {
        "member": world.members[member].pk,
        "kind": "contract",
        "title": "Contract of employment",
        "body": "Hours as rostered.\n<script>alert(1)</script>",
    } | overrides


def test_D4_an_owner_issues_a_contract_and_its_member_reads_it(world):
    owner = world.client("owner")
    page = owner.get(LIST).content.decode()
    assert "Issue a contract or letter" in page
    response = owner.post(ISSUE, _contract(world), follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    assert "is issued to" in response.content.decode()
    [issued] = _issued(world)
    assert (issued.member_id, issued.kind) == (world.members["staff"].pk, "contract")
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(
            action="issueddocument.created", entity_id=str(issued.pk)
        ).exists()
    staff_page = world.client("staff").get(LIST)
    assert_csp_clean(staff_page)
    text = staff_page.content.decode()
    assert "Contract of employment" in text and "Issue a contract or letter" not in text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def test_D4_issuing_is_refused_outside_the_scope_to_staff_and_for_bad_input(world):
    manager = world.client("manager")  # north: not south
    for body, message in [
        (_contract(world, "south_staff"), "Select a valid choice"),
        (_contract(world, kind="memo"), "Select a valid choice"),
        (_contract(world, title=""), "This field is required."),
        (_contract(world, title="x" * 201), "at most 200 characters"),
        (_contract(world, body=""), "This field is required."),
    ]:
        response = manager.post(ISSUE, body)
        assert response.status_code == 400, body
        assert message in response.content.decode(), body
    assert world.client("staff").post(ISSUE, _contract(world)).status_code == 403
    assert world.client("manager").get(ISSUE).status_code == 405
    assert _issued(world) == []
