"""What every page's template knows about the site serving it."""

from rbac.fields import is_client_portal


def serving_site(request) -> dict[str, bool]:
    """``client_portal``: the client host serves this page, which has no record pages to link
    to. Derived from the request for every template, so no view (a full page or an htmx
    fragment) can forget it."""
    return {"client_portal": is_client_portal(request)}
