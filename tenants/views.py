"""Portal views of the tenants app: the invitee's side of an invitation (A2, A3: confirm the
address with the emailed code, then choose a password; no session is needed, the link
carries the invitation) and an owner's IP-allowlist break-glass (A12)."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.second_factors.selectors import has_second_factor
from accounts.sign_in import recently_verified
from config.network import client_ip
from rbac.permissions import public, requires
from tenants.invitations import (
    InvitationRefused,
    invitation_accept,
    invitation_for_link,
    invitation_send_code,
    invitation_verify_code,
)
from tenants.ip_allowlist import ip_allowlist_break_glass, network_refused_page


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label="6-digit code",
        error_messages={"invalid": "Enter the 6 digits from the email."},
    )


class NewPasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, label="Password", strip=False)
    password_again = forms.CharField(
        widget=forms.PasswordInput, label="Password again", strip=False
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if password and password != data.get("password_again"):
            raise ValidationError("The two passwords differ.")
        if password:
            validate_password(password, User(email=self.email))
        return data


def _refused(request, refusal: InvitationRefused):
    return render(request, "invitations/refused.html", {"message": str(refusal)}, status=410)


@public
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request, link_token: str):
    try:
        with invitation_for_link(link_token) as invitation:
            if invitation.email_verified_at is not None:
                return _password_step(request, link_token, invitation)
            form = CodeForm(request.POST or None)
            if request.method == "POST" and request.POST.get("action") == "resend":
                sent = invitation_send_code(invitation=invitation)
                messages.info(
                    request,
                    "A new code is on its way." if sent else "Wait a minute before asking again.",
                )
                return redirect("invitation-accept", link_token)
            if request.method == "GET" and not invitation.code_sent_at:
                invitation_send_code(invitation=invitation)
            if request.method == "POST" and form.is_valid():
                try:
                    invitation_verify_code(invitation=invitation, code=form.cleaned_data["code"])
                except InvitationRefused as refusal:
                    form.add_error("code", str(refusal))
                else:
                    return redirect("invitation-accept", link_token)
            return render(
                request,
                "invitations/confirm_email.html",
                {"invitation": invitation, "form": form},
                status=400 if request.method == "POST" else 200,
            )
    except InvitationRefused as refusal:
        return _refused(request, refusal)


def _password_step(request, link_token: str, invitation):
    existing = User.objects.filter(email=invitation.email).exists()
    form = NewPasswordForm(request.POST or None, email=invitation.email)
    if existing and request.method == "POST":
        invitation_accept(invitation=invitation, password=None)
    elif request.method == "POST" and form.is_valid():
        invitation_accept(invitation=invitation, password=form.cleaned_data["password"])
    else:
        return render(
            request,
            "invitations/choose_password.html",
            {"invitation": invitation, "form": form, "existing": existing},
            status=400 if request.method == "POST" else 200,
        )
    messages.success(request, "You have joined. Sign in to continue.")
    return redirect("login")


@requires("organization.manage")  # owners only (A12)
@require_POST
def ip_allowlist_break_glass_page(request, org_slug: str):
    """The break-glass form on the refusal page (A12): a locked-out owner in a browser needs
    no API client. Same rules as the API: a stated reason, a recent second factor."""
    if has_second_factor(request.user) and not recently_verified(request):
        messages.info(request, "Verify your second factor again, then break the glass.")
        home = reverse("dashboard", kwargs={"org_slug": org_slug})
        return redirect(f"{reverse('security-step-up')}?{urlencode({'next': home})}")
    try:
        ip_allowlist_break_glass(
            reason=request.POST.get("reason", ""),
            actor=request.user,
            actor_ip=client_ip(request),
        )
    except ValidationError as error:
        return network_refused_page(request, reason_error=" ".join(error.messages), status=400)
    messages.warning(
        request,
        "The IP allowlist is suspended. Every owner has been told; resume it once the "
        "allowlist is fixed.",
    )
    return redirect("dashboard", org_slug=org_slug)
