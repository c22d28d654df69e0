"""Role settings pages of the web portal (Z2): the organisation's roles with their member
counts, and one form to create or edit a role (permissions by subject, a visibility scope per
scoped module, approval limits). The forms call the same services as the API, so the same
rules (no escalation, the owner role, roles in use) hold here and their messages are shown
next to the fields."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from config.forms import show_service_errors
from rbac import registry
from rbac.access import membership_has
from rbac.models import Role, Scope
from rbac.permissions import requires
from rbac.role_selectors import access_role, roles_list
from rbac.services import OWNER_KEY, role_create, role_delete, role_update

# The subjects whose approvals a limit can cap (Z6).
LIMITED_SUBJECTS = tuple(registry.DEFAULT_APPROVAL_CHAINS)


# Registry names whose plain capitalisation would misspell them.
_LABELS = {"api_token": "API token"}


def _label(name: str) -> str:
    return _LABELS.get(name, name.replace("_", " ").capitalize())


class RoleForm(forms.Form):
    """A role's fields. ``powers_editable=False`` (the owner role) leaves permissions and
    scopes out: the owner role always holds everything."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    permissions = forms.MultipleChoiceField(
        choices=[(name, name) for name in sorted(registry.PERMISSIONS)], required=False
    )

    def __init__(self, *args, powers_editable: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.powers_editable = powers_editable
        if powers_editable:
            for module in registry.SCOPED_MODULES:
                self.fields[f"scope_{module}"] = forms.ChoiceField(
                    label=f"{_label(module)} visibility", choices=Scope.choices, initial=Scope.OWN
                )
        else:
            del self.fields["permissions"]
        for subject in LIMITED_SUBJECTS:
            self.fields[f"limit_{subject}"] = forms.DecimalField(
                label=f"{_label(subject)} approval limit",
                required=False,
                min_value=Decimal(0),
                max_digits=12,
                decimal_places=2,
                help_text="The largest amount this role may approve; empty for no limit.",
            )

    @staticmethod
    def initial_for(role: Role) -> dict:
        initial = {
            "name": role.name,
            "description": role.description,
            "permissions": role.permissions,
        }
        initial.update({f"scope_{m}": role.scope_for(m) for m in registry.SCOPED_MODULES})
        initial.update({f"limit_{s}": role.approval_limits.get(s) for s in LIMITED_SUBJECTS})
        return initial

    def role_values(self) -> dict:
        """The service's keyword arguments."""
        data = self.cleaned_data
        values = {
            "name": data["name"],
            "description": data["description"],
            "approval_limits": {
                subject: str(data[f"limit_{subject}"])
                for subject in LIMITED_SUBJECTS
                if data[f"limit_{subject}"] is not None
            },
        }
        if self.powers_editable:
            values["permissions"] = data["permissions"]
            values["scopes"] = {m: data[f"scope_{m}"] for m in registry.SCOPED_MODULES}
        return values

    def permission_rows(self) -> list[dict]:
        """The permission grid: one row per subject, one checkbox per action."""
        chosen = set(self["permissions"].value() or [])
        return [
            {
                "subject": _label(subject),
                "cells": [
                    {
                        "name": f"{subject}.{action}",
                        "label": f"{_label(subject)}: {_label(action).lower()}",
                        "checked": f"{subject}.{action}" in chosen,
                    }
                    for action in registry.ACTIONS
                ],
            }
            for subject in registry.SUBJECTS
        ]

    def scope_fields(self) -> list[forms.BoundField]:
        return [self[f"scope_{m}"] for m in registry.SCOPED_MODULES if f"scope_{m}" in self.fields]

    def limit_fields(self) -> list[forms.BoundField]:
        return [self[f"limit_{s}"] for s in LIMITED_SUBJECTS]


def _render_form(request, form: RoleForm, *, role: Role | None, can_save: bool):
    return render(
        request,
        "rbac/role_form.html",
        {
            "organization": request.organization,
            "form": form,
            "role": role,
            "actions": [_label(action).lower() for action in registry.ACTIONS],
            "can_save": can_save,
            # Offered only where it can succeed (an open invitation may still refuse it).
            "can_delete": role is not None
            and not role.is_default
            and role.member_count == 0
            and membership_has(request.membership, "role.delete"),
        },
        # A refused form is a 400, which also rolls the request's transaction back.
        status=400 if form.errors else 200,
    )


@requires("role.view")
@login_required
def role_list(request, org_slug: str):
    return render(
        request,
        "rbac/role_list.html",
        {
            "organization": request.organization,
            "roles": roles_list(),
            "can_create": membership_has(request.membership, "role.create"),
        },
    )


@requires({"GET": "role.view", "POST": "role.create"})
@login_required
def role_create_page(request, org_slug: str):
    form = RoleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            role = role_create(**form.role_values(), actor_role=request.membership.role_definition)
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            messages.success(request, f"The role {role.name} was created.")
            return redirect("role-list", org_slug=org_slug)
    can_save = membership_has(request.membership, "role.create")
    return _render_form(request, form, role=None, can_save=can_save)


@requires({"GET": "role.view", "POST": "role.update"})
@login_required
def role_edit_page(request, org_slug: str, role_key: str):
    role = access_role(role_key)
    form = RoleForm(
        request.POST if request.method == "POST" else None,
        initial=RoleForm.initial_for(role),
        powers_editable=role.key != OWNER_KEY,
    )
    if request.method == "POST" and form.is_valid():
        try:
            role_update(
                role=role, **form.role_values(), actor_role=request.membership.role_definition
            )
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            messages.success(
                request,
                f"The role {form.cleaned_data['name']} was saved. If what it allows changed, "
                "its members sign in again.",
            )
            return redirect("role-list", org_slug=org_slug)
    can_save = membership_has(request.membership, "role.update")
    return _render_form(request, form, role=role, can_save=can_save)


@requires("role.delete")
@require_POST
@login_required
def role_delete_page(request, org_slug: str, role_key: str):
    role = access_role(role_key)
    try:
        role_delete(role=role)
    except ValidationError as error:
        # Nothing was written; the refusal is shown on the role's page.
        messages.error(request, " ".join(error.messages))
        return redirect("role-edit", org_slug=org_slug, role_key=role.key)
    messages.success(request, f"The role {role.name} was deleted.")
    return redirect("role-list", org_slug=org_slug)
