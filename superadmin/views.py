"""The super-admin site (Z8): its own sign-in with a mandatory second factor, organisations,
platform users and support access. Served only on the admin host, by processes started with
``PALISADE_SERVE_ADMIN_SITE=1`` (``config.urls_admin``); every page but sign-in is
``@platform_admin``: a superuser whose session verified a second factor.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import sign_in
from accounts.second_factors.selectors import methods_for
from accounts.second_factors.services import SIGN_IN, sign_in_state_rejected_record
from accounts.second_factors.verification import CODE_METHODS, attempt_from_post, masked_email
from accounts.views import STATE_REJECTED, TOO_MANY_FAILURES, safe_next_url
from rbac.permissions import PLATFORM_SESSION_KEY, platform_admin, public
from superadmin import selectors, services
from superadmin.forms import (
    OrganizationCreateForm,
    StatusChangeForm,
    SupportAccessForm,
    UserSearchForm,
)
from tenants.cross_tenant import CrossTenantAccessRefused, cross_tenant_access

PAGE_SIZE = 50
NO_SECOND_FACTOR = (
    "The super-admin site needs a second factor. Set up an authenticator app on your account "
    "in the portal first, then sign in here again."
)
CHANGE_SET_CREDENTIAL_FIRST = (
    "Your password was set by someone else. Change it on the portal first, then sign in here."
)


# --- sign-in ---------------------------------------------------------------------------------


def _on_admin_sign_in_path(response: HttpResponse) -> HttpResponse:
    """The pending sign-in cookie (``accounts.sign_in``) is scoped to the sign-in pages' path;
    here they live under this site's own sign-in URL, not the portal's."""
    morsel = response.cookies.get(sign_in.COOKIE)
    if morsel is not None:
        morsel["path"] = reverse("login")
    return response


def _pending_end(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    sign_in.pending_end(request, response)
    return _on_admin_sign_in_path(response)


@public
@sensitive_post_parameters()
@never_cache
def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """Step 1: email and password of a superuser who has a second factor. Anyone else gets the
    same refusal as a wrong password (the site does not say who its operators are)."""
    next_url = safe_next_url(request)
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    context = {"form": form, "next": next_url, "refused": False, "error": ""}
    if form.is_valid():
        user = form.get_user()
        methods = [m for m in methods_for(user) if m in CODE_METHODS]
        if not user.is_superuser:
            context["refused"] = True
        elif not methods:
            context["error"] = NO_SECOND_FACTOR
        elif user.must_change_password:
            # A2: the password was set by someone else; it is changed on the portal, which
            # has the page for it.
            context["error"] = CHANGE_SET_CREDENTIAL_FIRST
        else:
            response = redirect("sign-in-second-factor")
            sign_in.pending_start(
                request, response, user=user, backend=user.backend, next_url=next_url
            )
            return _on_admin_sign_in_path(response)
    elif form.errors:
        context["refused"] = True
    status = 400 if context["refused"] or context["error"] else 200
    return render(request, "superadmin/sign_in.html", context, status=status)


def _rejected(request: HttpRequest, rejected: sign_in.SignInStateRejected, message: str):
    if rejected.user is not None:
        sign_in_state_rejected_record(user=rejected.user, reason=rejected.reason)
    messages.error(request, message)
    return _pending_end(request, redirect("login"))


@public
@sensitive_post_parameters()
@never_cache
def admin_sign_in_second_factor(request: HttpRequest) -> HttpResponse:
    """Step 2, mandatory: a code from the authenticator app, an email code or a recovery
    code. Only its success signs the person in (a new session key, the device recorded)."""
    try:
        pending = sign_in.pending_load(request)
    except sign_in.SignInStateRejected as rejected:
        return _rejected(request, rejected, STATE_REJECTED)
    if not pending.user.is_superuser:
        rejected = sign_in.SignInStateRejected("account_changed", pending.user)
        return _rejected(request, rejected, STATE_REJECTED)
    methods = [m for m in methods_for(pending.user) if m in CODE_METHODS]
    context = {"methods": methods, "email": masked_email(pending.user.email)}
    status = 200
    if request.method == "POST":
        attempt = attempt_from_post(request, pending.user, methods, SIGN_IN)
        if attempt.device is not None:
            try:
                sign_in.sign_in_complete(
                    request, user=pending.user, backend=pending.backend, device=attempt.device
                )
            except sign_in.SignInNetworkRefused:
                rejected = sign_in.SignInStateRejected("network_refused", pending.user)
                return _rejected(request, rejected, STATE_REJECTED)
            request.session[PLATFORM_SESSION_KEY] = True
            landing = pending.next_url or reverse("superadmin-organizations")
            return _pending_end(request, redirect(landing))
        if attempt.refused and sign_in.pending_failure(request):
            too_many = sign_in.SignInStateRejected("too_many_failures", pending.user)
            return _rejected(request, too_many, TOO_MANY_FAILURES)
        context.update(error=attempt.error, notice=attempt.notice)
        status = 400 if attempt.error else 200
    return render(request, "superadmin/second_factor.html", context, status=status)


# --- organisations ---------------------------------------------------------------------------


@platform_admin
def home(request: HttpRequest) -> HttpResponse:
    return redirect("superadmin-organizations")


@platform_admin
def organization_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.organizations(), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.active_member_counts(list(page.object_list))
    rows = [(organization, counts[organization.pk]) for organization in page.object_list]
    return render(request, "superadmin/organization_list.html", {"page": page, "rows": rows})


@platform_admin
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationCreateForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            organization = services.organization_create_by_platform(
                operator=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, f"{organization.name} was created.")
            return redirect("superadmin-organization", slug=organization.slug)
    status = 400 if form.errors else 200
    return render(request, "superadmin/organization_create.html", {"form": form}, status=status)


@platform_admin
def organization_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organization = selectors.access_organization(slug)
    [members] = selectors.active_member_counts([organization]).values()
    return render(
        request,
        "superadmin/organization_detail.html",
        {"organization": organization, "members": members, "form": StatusChangeForm()},
    )


def _status_change(request: HttpRequest, slug: str, service, done: str) -> HttpResponse:
    organization = selectors.access_organization(slug)
    form = StatusChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The reason is too long (500 characters at most).")
        return redirect("superadmin-organization", slug=slug)
    try:
        service(operator=request.user, organization=organization, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{organization.name} {done}.")
    return redirect("superadmin-organization", slug=slug)


@platform_admin
@require_POST
def organization_suspend(request: HttpRequest, slug: str) -> HttpResponse:
    return _status_change(
        request, slug, services.organization_suspend, "is suspended; its members are signed out"
    )


@platform_admin
@require_POST
def organization_reactivate(request: HttpRequest, slug: str) -> HttpResponse:
    return _status_change(request, slug, services.organization_reactivate, "is active again")


@platform_admin
@require_POST
def organization_offboard(request: HttpRequest, slug: str) -> HttpResponse:
    return _status_change(
        request, slug, services.organization_offboard, "is offboarded; its members are signed out"
    )


@platform_admin
@never_cache
def support_access(request: HttpRequest, slug: str) -> HttpResponse:
    """T3, X2: a look inside one organisation, only with a stated reason, which the
    organisation's own audit log receives before the cross-tenant connection is touched. The
    crossing is read-only and shows counts."""
    organization = selectors.access_organization(slug)
    form = SupportAccessForm(request.POST if request.method == "POST" else None)
    context = {"organization": organization, "form": form, "summary": None}
    if form.is_valid():
        try:
            with cross_tenant_access(
                organization,
                actor=request.user.email,
                reason=form.cleaned_data["reason"],
                read_only=True,
            ) as session:
                context["summary"] = selectors.support_summary(session)
        except CrossTenantAccessRefused as refused:
            form.add_error(None, str(refused))
    status = 400 if form.errors else 200
    return render(request, "superadmin/support_access.html", context, status=status)


# --- platform users --------------------------------------------------------------------------


@platform_admin
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserSearchForm(request.GET)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(selectors.platform_users(search), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "superadmin/user_list.html", {"form": form, "page": page, "search": search}
    )


@platform_admin
@require_POST
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    user = selectors.access_user(user_id)
    try:
        services.platform_user_deactivate(operator=request.user, user=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{user.email} is deactivated; every session has ended.")
    return redirect("superadmin-users")
