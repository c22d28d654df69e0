"""The invitations page (A2, A3): who has been invited, with what role and in what state, an
invite form and Revoke buttons. The form offers only the roles the inviter may give
(``portal.members.roles_assignable_by``, the rule ``tenants.invitations.invitation_create``
enforces again), and every write is the API's service, so the email with the link and the
audit events are the same whichever way someone is invited."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.forms import show_service_errors
from portal.members import roles_assignable_by
from rbac.permissions import requires
from rbac.role_selectors import roles_list
from tenants.invitations import invitation_create, invitation_revoke
from tenants.models import Invitation

# The page shows the newest invitations; the API pages through all of them.
INVITATIONS_SHOWN = 100


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(label="Role")

    def __init__(self, data=None, *, inviter):
        super().__init__(data)
        self.fields["role"].choices = [
            (role.key, role.name) for role in roles_assignable_by(inviter)
        ]


def _page(request, form: InvitationForm, status: int = 200):
    invitations = Invitation.objects.select_related("invited_by").order_by("-created_at", "-id")
    role_names = dict(roles_list().values_list("key", "name"))
    rows = [
        {
            "invitation": invitation,
            "role": role_names.get(invitation.role, invitation.role),
        }
        for invitation in invitations[:INVITATIONS_SHOWN]
    ]
    return render(
        request,
        "portal/invitations.html",
        {"organization": request.organization, "form": form, "rows": rows},
        status=status,
    )


@requires("user.manage")
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def invitations(request, org_slug: str):
    form = InvitationForm(
        request.POST if request.method == "POST" else None, inviter=request.membership
    )
    if request.method == "POST" and form.is_valid():
        try:
            issued = invitation_create(
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            messages.success(
                request,
                f"{issued.invitation.email} is invited. The link in their email works for "
                "one sign-up; revoke it here if it went to the wrong address.",
            )
            return redirect("invitations", org_slug=org_slug)
    return _page(request, form, status=400 if form.errors else 200)


@requires("user.manage")
@require_POST
@login_required
def invitation_revoke_view(request, org_slug: str, invitation_id: int):
    invitation = invitation_revoke(
        invitation=get_object_or_404(Invitation.objects, pk=invitation_id)
    )
    messages.success(request, f"The invitation of {invitation.email} no longer works.")
    return redirect("invitations", org_slug=org_slug)
