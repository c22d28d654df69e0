"""The organisation navigation of both portals: only the links the member's role permits
(Z3), and only those the serving site has (the client portal has fewer pages)."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

from portal.deleted import DELETE_PERMISSIONS
from rbac.access import membership_has

register = template.Library()

# (URL name, label, permission needed to open it, or a tuple of which any one will do), in
# menu order.
LINKS: tuple[tuple[str, str, str | tuple[str, ...]], ...] = (
    ("dashboard", "Dashboard", ("site.view", "organization.view")),
    ("client-home", "Home", "shift.view"),
    ("rota", "Rota", "shift.view"),
    ("my-shifts", "My shifts", "attendance.create"),
    ("shift-list", "Shifts", "shift.view"),
    ("client-shift-list", "Shifts", "shift.view"),
    ("leave", "Leave", "leave.view"),
    ("timesheets", "Timesheets", "timesheet.view"),
    ("expenses", "Expenses", "expense.view"),
    ("documents", "Documents", "document.view"),
    ("client-documents", "Documents", "document.view"),
    ("people", "People", "user.view"),
    ("client-list", "Clients", "client.view"),
    ("departments", "Departments", "department.view"),
    # Staff may read the titles (the API lists them), but only those who add them need a page.
    ("designations", "Designations", "designation.create"),
    ("site-list", "Sites", "site.view"),
    ("role-list", "Roles", "role.view"),
    ("security-settings", "Security", "settings.view"),
    ("security-api-tokens", "API tokens", "api_token.view"),
    ("deleted-items", "Deleted items", DELETE_PERMISSIONS),
)


def permitted_links(request) -> list[dict]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return []
    links = []
    for name, label, required in LINKS:
        alternatives = (required,) if isinstance(required, str) else required
        if not any(membership_has(membership, name) for name in alternatives):
            continue
        try:
            url = reverse(
                name, urlconf=request.urlconf, kwargs={"org_slug": request.organization.slug}
            )
        except NoReverseMatch:  # not a page of this site
            continue
        links.append({"url": url, "label": label, "current": request.path == url})
    # Every member's own page (contact details, leave, profile changes), where the site has it.
    try:
        own = reverse(
            "member-detail",
            urlconf=request.urlconf,
            kwargs={"org_slug": request.organization.slug, "membership_id": membership.pk},
        )
    except NoReverseMatch:
        return links
    return [*links, {"url": own, "label": "My profile", "current": request.path == own}]


@register.inclusion_tag("portal/nav.html", takes_context=True)
def portal_nav(context):
    request = context.get("request")
    return {"links": permitted_links(request) if request is not None else []}
