from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from tenants.selectors import organizations_for_user


@login_required
def organization_choose(request):
    """After sign-in: one organisation routes straight in, several are offered (A16)."""
    organizations = organizations_for_user(request.user)
    if len(organizations) == 1:
        return redirect("site-list", org_slug=organizations[0].slug)
    return render(request, "portal/organization_choose.html", {"organizations": organizations})


def home(request):
    if request.user.is_authenticated:
        return redirect("organization-choose")
    return redirect("login")
