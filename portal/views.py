from datetime import date, timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.views.decorators.http import require_http_methods

from config.forms import form_status, saved_through
from portal.records import MODULES, decidable_by, display
from rbac.access import membership_has
from rbac.fields import withheld_for_request
from rbac.permissions import public, requires, requires_any, signed_in_only
from tenants.selectors import memberships_for_user
from workforce import selectors, services
from workforce.documents import expiring_soon
from workforce.people import designation_create, designations_list, members_whose_profiles


@signed_in_only
@login_required
def organization_choose(request):
    """After sign-in: one organisation routes straight in, several are offered (A16)."""
    memberships = memberships_for_user(request.user)
    if len(memberships) == 1:
        return redirect("dashboard", org_slug=memberships[0][0].slug)
    return render(request, "portal/organization_choose.html", {"memberships": memberships})


@public
def home(request):
    if request.user.is_authenticated:
        return redirect("organization-choose")
    return redirect("login")


# --- organisation pages -------------------------------------------------------------------

DASHBOARD_SHIFTS = 50
DASHBOARD_PENDING = 5


def record_fields(serializer, omitted: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """A serialized record as (label, text) pairs, but for the ``omitted`` fields: only the
    fields this member may receive are in the serializer at all (Z7)."""
    fields = serializer.fields
    return [
        (fields[name].label or capfirst(name.replace("_", " ")), display(value))
        for name, value in serializer.data.items()
        if name not in omitted
    ]


# Every default role holds one of these; board guests, who see only documents, hold
# organization.view and land here too.
@requires_any("site.view", "organization.view")
@login_required
def dashboard(request, org_slug: str):
    """Today's shifts, the approvals waiting for this member and documents expiring soon;
    each section only for members whose role has the module."""
    membership = request.membership
    withheld = withheld_for_request(request)
    day_start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    context = {"organization": request.organization, "today": day_start.date()}
    if membership_has(membership, "shift.view"):
        shifts = selectors.shifts_for(membership, withheld).filter(
            starts_at__lt=day_start + timedelta(days=1), ends_at__gt=day_start
        )
        context["todays_shifts"] = shifts[:DASHBOARD_SHIFTS]
    approvals = []
    for module in MODULES.values():
        pending = decidable_by(request, module)
        if pending is not None:
            shown = list(pending.select_related("member__user")[: DASHBOARD_PENDING + 1])
            approvals.append(
                {
                    "module": module,
                    "records": _pending_rows(request, module, shown[:DASHBOARD_PENDING]),
                    "more": len(shown) > DASHBOARD_PENDING,
                }
            )
    context["approvals"] = approvals
    if membership_has(membership, "document.view"):
        today = day_start.date()
        context["expiring_documents"] = expiring_soon(
            selectors.documents_for(membership, withheld), today
        ).order_by("expires_on", "id")[:DASHBOARD_SHIFTS]
    return render(request, "portal/dashboard.html", context)


EN_DASH = "\u2013"  # between the first and last day


def _pending_rows(request, module, records) -> list[dict]:
    """What the dashboard says of each pending record, from the module's serializer (Z7: a
    timesheet's pay only to those who receive it), with a link to the record's page."""
    rows = []
    for row in module.serializer(records, many=True, context={"request": request}).data:
        said = []
        for first, last in (("starts_on", "ends_on"), ("period_start", "period_end")):
            if first in row:
                start, end = date.fromisoformat(row[first]), date.fromisoformat(row[last])
                said.append(f"{start:%-d %b}{EN_DASH}{end:%-d %b %Y}")
        if "hours" in row:
            said.append(f"{row['hours']} hours")
        if row.get("amount") is not None:
            said.append(row["amount"])
        rows.append(
            {
                "member": display(row["member"]),
                "summary": ", ".join(said),
                "url": reverse(
                    f"{module.subject}-detail",
                    kwargs={"org_slug": request.organization.slug, "record_id": row["id"]},
                ),
            }
        )
    return rows


@requires("user.view")
@login_required
def people(request, org_slug: str):
    """The members whose records this member may open (``workforce.people``): everyone with
    ``user.view``, otherwise only themselves."""
    members = (
        members_whose_profiles(request.membership)
        .select_related("role_definition", "department")
        .order_by("user__full_name", "user__email", "id")
    )
    return render(
        request,
        "portal/people.html",
        {
            "organization": request.organization,
            "members": members,
            # Z2: a link per row to portal.members.member_role, for those who may change roles.
            "can_manage": membership_has(request.membership, "user.manage"),
        },
    )


class DesignationForm(forms.Form):
    name = forms.CharField(max_length=100)


@requires({"GET": "designation.view", "POST": "designation.create"})
@require_http_methods(["GET", "POST"])
@login_required
def designations(request, org_slug: str):
    """The job titles a shift can require and a member can hold (D1), with a form to add one
    for members holding ``designation.create``."""
    form = None
    if membership_has(request.membership, "designation.create"):
        form = DesignationForm(request.POST if request.method == "POST" else None)
    if saved_through(
        request, form, designation_create, lambda added: f"The designation {added.name} is added."
    ):
        return redirect("designations", org_slug=org_slug)
    return render(
        request,
        "portal/designations.html",
        {
            "organization": request.organization,
            "designations": designations_list(),
            "form": form,
        },
        status=form_status(form),
    )


class DepartmentForm(forms.Form):
    name = forms.CharField(max_length=200)
    parent = forms.ModelChoiceField(
        label="Inside (its managers also see this one)",
        queryset=None,
        required=False,
        empty_label="Nothing: a top-level department",
    )

    def __init__(self, data=None, *, departments):
        super().__init__(data)
        parent = self.fields["parent"]
        parent.queryset = selectors.departments_list()
        # The tree's order, each under its parent: "Ops / North".
        names = {department.pk: department.name for department in departments}
        parent.label_from_instance = lambda department: " / ".join(
            names.get(int(pk), "?") for pk in department.path.strip("/").split("/")
        )


@requires({"GET": "department.view", "POST": "department.create"})
@require_http_methods(["GET", "POST"])
@login_required
def departments(request, org_slug: str):
    """The department tree (Z5), built from the materialised paths in one query, with a form
    to add a department for members holding ``department.create`` (D1)."""
    every = list(selectors.departments_list())
    form = None
    if membership_has(request.membership, "department.create"):
        form = DepartmentForm(request.POST if request.method == "POST" else None, departments=every)
    if saved_through(
        request,
        form,
        services.department_create,
        lambda added: f"The department {added.name} is added.",
    ):
        return redirect("departments", org_slug=org_slug)
    by_parent: dict[int | None, list] = {}
    for department in every:
        by_parent.setdefault(department.parent_id, []).append(department)

    def branch(parent_id):
        return [
            {"department": child, "children": branch(child.pk)}
            for child in sorted(by_parent.get(parent_id, []), key=lambda d: d.name.lower())
        ]

    return render(
        request,
        "portal/departments.html",
        {"organization": request.organization, "tree": branch(None), "form": form},
        status=form_status(form),
    )
