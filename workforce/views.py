from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from rbac.permissions import requires
from workforce import selectors


@requires("site.view")
@login_required
def site_list(request, org_slug: str):
    return render(
        request,
        "portal/site_list.html",
        {"organization": request.organization, "sites": selectors.sites_list()},
    )
