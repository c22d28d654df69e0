"""Member pages: a member's page (D1, L5), their role and department, and a manager's
correction of a member's attendance. The changes call the services the API calls, so the
same rules hold here (no escalation, Z2; nobody corrects their own time, Z6) and their
refusals are shown next to the form, answered with a 400 that rolls the request back."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from config.forms import DateTimeLocalInput, show_service_errors
from portal.records import display, member_name
from portal.timeline import record_timeline
from portal.views import record_fields
from rbac.access import membership_has
from rbac.models import Role
from rbac.permissions import requires, signed_in_only
from rbac.role_selectors import access_member, roles_list
from rbac.services import role_assignable_by
from tenants.models import Membership
from tenants.services import membership_assign, membership_change_role
from workforce import people
from workforce.api_domain import StaffProfileSerializer
from workforce.selectors import departments_list, members_in_scope
from workforce.timekeeping import CORRECTION_REASON_MAX, access_attendance, attendance_correct

# --- a member's page (D1, L5) ---------------------------------------------------------------


def _leave_balance(viewer: Membership, member: Membership) -> people.LeaveBalance | None:
    """This year's balance, for those whose leave scope covers the member (Z4), as the leave
    balance API decides."""
    if not membership_has(viewer, "leave.view"):
        return None
    if not members_in_scope(viewer, "leave").filter(pk=member.pk).exists():
        return None
    return people.leave_balance(member=member)


SENSITIVE_LABELS = {
    "bank_account": "Bank account",
    "national_insurance": "National insurance number",
}
assert SENSITIVE_LABELS.keys() == set(people.SENSITIVE_PROFILE_FIELDS)


def _sensitive_fields(profile) -> list[tuple[str, str]]:
    data = StaffProfileSerializer(profile, context={"sensitive": True}).data
    return [(label, display(data[name])) for name, label in SENSITIVE_LABELS.items()]


# Declared for any member of the organisation, as the staff profile API is (Z1): no role
# permission means "my own page", so access_profile_member narrows every other member's page
# to user.view and user.manage holders (404 for anyone else, confirming nothing).
@signed_in_only
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def member_detail(request, org_slug: str, membership_id: int):
    """The member's account and staff profile. Bank and national-insurance details go to the
    member and to payroll only (``people.may_receive_sensitive``, E3). Another member's are
    behind a "Show" button, a POST: opening the page (a link, a prefetch, a reload) reads
    none of them, the click reads them and is recorded (L1), and a forged cross-site request
    cannot fill the log with reads nobody made (CSRF)."""
    viewer = request.membership
    member = people.access_profile_member(viewer, membership_id)
    own = member.pk == viewer.pk
    profile = people.staff_profile_of(member)
    may_receive = people.may_receive_sensitive(viewer, member)
    if request.method == "POST" and not may_receive:
        raise PermissionDenied("Only the member and payroll see bank details.")
    revealed = may_receive and profile.pk is not None and (own or request.method == "POST")
    if revealed and not own:
        people.staff_profile_sensitive_read_record(viewer=viewer, member=member)
    # The profile's changes are the member's history too.
    parts = [profile] if profile.pk is not None else []
    timeline, truncated = record_timeline(request, member, parts=parts)
    response = render(
        request,
        "portal/member_detail.html",
        {
            "organization": request.organization,
            "title": member_name(member),
            # People lists members for user.view holders only; the rest came from elsewhere.
            "back": ("people", "People")
            if membership_has(viewer, "user.view")
            else ("dashboard", "Dashboard"),
            "fields": [
                ("Name", member.user.full_name or "—"),
                ("Email", member.user.email),
                ("Role", member.role_definition.name),
                ("Department", member.department.name if member.department else "—"),
                ("Status", member.get_status_display()),
                *record_fields(
                    StaffProfileSerializer(profile, context={"sensitive": False}),
                    omitted=("member", "annual_leave_days", "updated_at"),
                ),
            ],
            "member": member,
            "may_receive_sensitive": may_receive and profile.pk is not None,
            "sensitive": _sensitive_fields(profile) if revealed else None,
            "leave_balance": _leave_balance(viewer, member),
            "can_change_role": not own and membership_has(viewer, "user.manage"),
            "can_change_profile": bool(people.profile_fields_settable_by(viewer, member)),
            "timeline": timeline,
            "timeline_truncated": truncated,
        },
    )
    if revealed:
        # E3: the details stay out of the browser's and any proxy's cache.
        add_never_cache_headers(response)
    return response


# --- a member's staff profile (D1, E3) -------------------------------------------------------


class ProfileForm(forms.Form):
    """The staff profile fields the editor may set (``people.profile_fields_settable_by``),
    with the API's rules. Bank and national-insurance details are never shown in the form:
    left empty they stay as they are, so changing a phone number reads no bank details."""

    phone = forms.RegexField(
        regex=people.PHONE_PATTERN,
        max_length=40,
        required=False,
        error_messages={"invalid": people.PHONE_INVALID},
    )
    address = forms.CharField(
        max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    designation = forms.ModelChoiceField(queryset=None, required=False, empty_label="None")
    annual_leave_days = forms.DecimalField(
        label="Days of paid leave a year",
        min_value=0,
        max_value=366,
        max_digits=5,
        decimal_places=1,
    )
    bank_account = forms.CharField(
        label="Bank account (leave empty to keep the current one)", max_length=64, required=False
    )
    national_insurance = forms.CharField(
        label="National insurance number (leave empty to keep the current one)",
        max_length=20,
        required=False,
    )

    def __init__(self, data, *, settable: frozenset[str], initial: dict):
        super().__init__(data, initial=initial)
        self.fields["designation"].queryset = people.designations_list()
        for name in list(self.fields):
            if name not in settable:
                del self.fields[name]

    def changes(self) -> dict:
        """What differs from the profile; a sensitive field only when a value was typed."""
        changes = {}
        for name, value in self.cleaned_data.items():
            if name in people.SENSITIVE_PROFILE_FIELDS:
                if value:
                    changes[name] = value
            elif value != self.initial.get(name):
                changes[name] = value
        return changes


@signed_in_only
@require_http_methods(["GET", "POST"])
@login_required
def member_profile(request, org_slug: str, membership_id: int):
    """Changes a staff profile: one's own contact and bank details; with ``user.manage``
    anyone's contact details, designation and leave allowance (as the staff profile API,
    declared the same way). A member the editor may not open is a 404; one whose profile they
    may not change is a 403."""
    editor = request.membership
    member = people.access_profile_member(editor, membership_id)
    settable = people.profile_fields_settable_by(editor, member)
    if not settable:
        raise PermissionDenied("You may not change this member's profile.")
    profile = people.staff_profile_of(member)
    initial = {
        name: getattr(profile, name)
        for name in (*people.CONTACT_FIELDS, *people.MANAGED_FIELDS)
        if name in settable
    }
    form = ProfileForm(
        request.POST if request.method == "POST" else None, settable=settable, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, "Nothing was changed.")
            return redirect("member-detail", org_slug=org_slug, membership_id=member.pk)
        try:
            people.staff_profile_update(member=member, **changes)
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            messages.success(request, f"The profile of {member_name(member)} is saved.")
            return redirect("member-detail", org_slug=org_slug, membership_id=member.pk)
    return render(
        request,
        "portal/member_profile.html",
        {
            "organization": request.organization,
            "member": member,
            "title": member_name(member),
            "form": form,
        },
        status=400 if form.errors else 200,
    )


# --- attendance corrections (D2) ------------------------------------------------------------


class AttendanceCorrectionForm(forms.Form):
    clock_in_at = forms.DateTimeField(label="Clocked in at", widget=DateTimeLocalInput())
    clock_out_at = forms.DateTimeField(
        label="Clocked out at (empty if still at work)", required=False, widget=DateTimeLocalInput()
    )
    reason = forms.CharField(
        label="Why the times are corrected",
        max_length=CORRECTION_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@requires("attendance.update")
@require_http_methods(["GET", "POST"])
@login_required
def attendance_correct_page(request, org_slug: str, attendance_id: int):
    # Z4: attendance outside the member's visibility scope, or of another organisation, is a
    # 404 that confirms nothing.
    attendance = access_attendance(request.membership, attendance_id)
    form = AttendanceCorrectionForm(
        request.POST if request.method == "POST" else None,
        initial={"clock_in_at": attendance.clock_in_at, "clock_out_at": attendance.clock_out_at},
    )
    if request.method == "POST" and form.is_valid():
        try:
            attendance_correct(
                attendance=attendance, corrected_by=request.membership, **form.cleaned_data
            )
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            messages.success(
                request, f"The attendance of {member_name(attendance.member)} is corrected."
            )
            return redirect("shift-detail", org_slug=org_slug, record_id=attendance.shift_id)
    return render(
        request,
        "portal/attendance_correct.html",
        {"organization": request.organization, "attendance": attendance, "form": form},
        status=400 if form.errors else 200,
    )


# --- a member's role and department (Z2) ----------------------------------------------------


def roles_assignable_by(actor: Membership) -> list[Role]:
    """The roles ``actor`` may give (the service's own rule, ``role_assignable_by``), highest
    first. Time-boxed roles are granted as guest access with an end, not from here."""
    assignable = []
    for role in roles_list().filter(time_boxed=False):
        try:
            role_assignable_by(role, actor)
        except ValidationError:
            continue
        assignable.append(role)
    return assignable


class MemberRoleForm(forms.Form):
    """The roles offered are those the actor may give, plus the member's current one (keeping
    it is no escalation, and a form that left it out would change it unasked)."""

    role = forms.ChoiceField(label="Role")
    department = forms.ModelChoiceField(
        label="Department", queryset=None, required=False, empty_label="No department"
    )

    def __init__(self, data=None, *, member: Membership, actor: Membership):
        super().__init__(data, initial={"role": member.role, "department": member.department_id})
        offered = {role.key: role for role in roles_assignable_by(actor)}
        offered.setdefault(member.role, member.role_definition)
        self.fields["role"].choices = [
            (role.key, role.name) for role in sorted(offered.values(), key=lambda r: r.rank)
        ]
        self.fields["department"].queryset = departments_list()


def _member_change(actor: Membership, member: Membership, role: str, department) -> list[str]:
    """Applies what changed, through the API's services and in the API's order; returns
    what it changed, for the message."""
    changed = []
    if department != member.department:
        membership_assign(
            membership=member, department=department, client=member.client, actor=actor
        )
        changed.append(f"the department {department.name}" if department else "no department")
    if role != member.role:
        membership_change_role(membership=member, role=role, actor=actor)
        changed.append(f"the role {member.role_definition.name}")
    return changed


@requires("user.manage")
@require_http_methods(["GET", "POST"])
@login_required
def member_role(request, org_slug: str, membership_id: int):
    member = access_member(membership_id)  # another organisation's member: 404
    form = MemberRoleForm(
        request.POST if request.method == "POST" else None, member=member, actor=request.membership
    )
    if request.method == "POST" and form.is_valid():
        data, role_before = form.cleaned_data, member.role
        try:
            changed = _member_change(request.membership, member, data["role"], data["department"])
        except ValidationError as error:
            show_service_errors(form, error)
            # The 400 rolls back a department already changed; show the member as stored.
            member = access_member(membership_id)
        else:
            if changed:
                # A10: membership_change_role ended every session of theirs.
                again = " They sign in again to use it." if member.role != role_before else ""
                messages.success(
                    request, f"{member_name(member)} now has {' and '.join(changed)}.{again}"
                )
            else:
                messages.info(request, f"Nothing changed for {member_name(member)}.")
            return redirect("people", org_slug=org_slug)
    return render(
        request,
        "portal/member_role.html",
        {"organization": request.organization, "member": member, "form": form},
        status=400 if form.errors else 200,
    )


page_patterns: list = [
    path(
        "attendance/<id:attendance_id>/correct/",
        attendance_correct_page,
        name="attendance-correct",
    ),
    path("people/<id:membership_id>/", member_detail, name="member-detail"),
    path("people/<id:membership_id>/role/", member_role, name="member-role"),
    path("people/<id:membership_id>/profile/", member_profile, name="member-profile"),
]
