from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from rbac.permissions import public, signed_in_only
from tenants.selectors import memberships_for_user


@signed_in_only
@login_required
def organization_choose(request):
    """After sign-in: one organisation routes straight in, several are offered (A16)."""
    memberships = memberships_for_user(request.user)
    if len(memberships) == 1:
        return redirect("site-list", org_slug=memberships[0][0].slug)
    return render(request, "portal/organization_choose.html", {"memberships": memberships})


@public
def home(request):
    if request.user.is_authenticated:
        return redirect("organization-choose")
    return redirect("login")
