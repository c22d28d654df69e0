from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workforce import selectors


@login_required
def site_list(request, org_slug: str):
    return render(
        request,
        "portal/site_list.html",
        {"organization": request.organization, "sites": selectors.sites_list()},
    )
