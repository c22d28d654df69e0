"""Forced password change (A2): while ``must_change_password`` is set, a signed-in user can
reach only the change-password page, sign-out and static files."""

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from accounts.services import password_change
from rbac.permissions import signed_in_only


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(widget=forms.PasswordInput, strip=False)
    new_password = forms.CharField(widget=forms.PasswordInput, strip=False)
    new_password_again = forms.CharField(widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_current_password(self):
        password = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            raise ValidationError("Your current password is not right.")
        return password

    def clean(self):
        data = super().clean()
        new = data.get("new_password")
        if new and new != data.get("new_password_again"):
            raise ValidationError("The two new passwords differ.")
        if new and new == data.get("current_password"):
            raise ValidationError("Choose a password different from the current one.")
        return data


@signed_in_only
@never_cache
@login_required
def password_change_view(request):
    form = PasswordChangeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            password_change(user=request.user, new_password=form.cleaned_data["new_password"])
        except ValidationError as error:
            form.add_error("new_password", error)
        else:
            # The session stays valid for the person who just changed the password.
            update_session_auth_hash(request, request.user)
            messages.success(request, "Your password has been changed.")
            return redirect("organization-choose")
    return render(
        request,
        "registration/password_change.html",
        {"form": form, "forced": request.user.must_change_password},
        status=400 if request.method == "POST" else 200,
    )


class PasswordChangeRequiredMiddleware:
    """Sends a user whose password was set by someone else to change it first (A2)."""

    ALLOWED_NAMES = ("password-change", "logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            allowed = {reverse(name) for name in self.ALLOWED_NAMES}
            if request.path_info not in allowed and not request.path_info.startswith("/static/"):
                if request.path_info.startswith("/api/"):
                    return JsonResponse(
                        {"detail": "Change your password before using the API."}, status=403
                    )
                return redirect("password-change")
        return self.get_response(request)
