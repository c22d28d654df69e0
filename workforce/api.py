"""The workforce API: sites, shifts, leave, expenses, timesheets, documents, clients and the
department tree, under ``/api/v1/o/<slug>/``.

Reads go through ``workforce.selectors`` (organisation, visibility scope Z4, live rows, and
withheld fields not even loaded); output serializers drop the fields the member may not
receive (Z7, ``rbac.fields.FieldSeparationMixin``), so they are absent, not blanked. Writes
are checked by an input serializer (a 400 with a message per field) and made by
``workforce.services``; a create answers with the new row as a read would show it.
"""

from collections.abc import Callable

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, ListCreateAPIView, RetrieveAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from rbac.fields import FieldSeparationInputMixin, FieldSeparationMixin, withheld_for_request
from tokens.scopes import token_scopes
from workforce import exports, selectors, services
from workforce.models import (
    MONEY,
    Client,
    Department,
    Document,
    Expense,
    LeaveRequest,
    Shift,
    Site,
    Timesheet,
)

# --- output -------------------------------------------------------------------------------


class SiteSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name", default=None, read_only=True)

    class Meta:
        model = Site
        fields = ["id", "name", "address", "department", "created_at"]
        read_only_fields = fields


class NamedRowSerializer(serializers.Serializer):
    """A referenced row as ``{id, name}``: enough to show and link it, nothing more."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, membership) -> str:
        return membership.user.full_name or membership.user.email


class ShiftSerializer(FieldSeparationMixin, serializers.ModelSerializer):
    site = NamedRowSerializer(read_only=True)
    client = NamedRowSerializer(read_only=True)
    department = NamedRowSerializer(read_only=True)
    member = MemberSerializer(read_only=True)
    # Annotated by the selector, only for those who may receive it.
    margin = serializers.DecimalField(max_digits=13, decimal_places=2, read_only=True)

    class Meta:
        model = Shift
        fields = [
            "id",
            "site",
            "client",
            "department",
            "member",
            "starts_at",
            "ends_at",
            "bill_rate",
            "pay_rate",
            "margin",
            "internal_notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MemberRecordSerializer(serializers.ModelSerializer):
    department = NamedRowSerializer(read_only=True)
    member = MemberSerializer(read_only=True)


class LeaveRequestSerializer(MemberRecordSerializer):
    class Meta:
        model = LeaveRequest
        fields = [
            "id",
            "member",
            "department",
            "starts_on",
            "ends_on",
            "reason",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ExpenseSerializer(MemberRecordSerializer):
    class Meta:
        model = Expense
        fields = [
            "id",
            "member",
            "department",
            "amount",
            "description",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TimesheetSerializer(MemberRecordSerializer):
    class Meta:
        model = Timesheet
        fields = [
            "id",
            "member",
            "department",
            "period_start",
            "period_end",
            "hours",
            "amount",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DocumentSerializer(FieldSeparationMixin, MemberRecordSerializer):
    class Meta:
        model = Document
        fields = [
            "id",
            "member",
            "department",
            "title",
            "expires_on",
            "internal_notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ClientSerializer(FieldSeparationMixin, serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "name", "internal_notes", "created_at"]
        read_only_fields = fields


class DepartmentSerializer(serializers.ModelSerializer):
    parent = serializers.IntegerField(source="parent_id", read_only=True)
    head = MemberSerializer(read_only=True)

    class Meta:
        model = Department
        fields = ["id", "name", "parent", "path", "head", "created_at"]
        read_only_fields = fields


# --- input --------------------------------------------------------------------------------


class ScopedRowField(serializers.PrimaryKeyRelatedField):
    """The id of a row the requesting member may refer to, found among ``rows(membership)``.
    An unknown id, one outside the member's scope and another organisation's (T4) get the
    same answer, so the field cannot be used to probe for rows."""

    def __init__(self, rows: Callable[..., QuerySet], noun: str, **kwargs):
        self.rows = rows
        kwargs["error_messages"] = {
            "does_not_exist": f"No {noun} with id {{pk_value}} that you can use here.",
            "incorrect_type": f"Give the id of a {noun} (a number), not a {{data_type}}.",
        }
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.rows(self.context["request"].membership)


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MONEY["max_digits"], decimal_places=MONEY["decimal_places"], min_value=0
    )


def _notes() -> serializers.CharField:
    return serializers.CharField(max_length=5000, allow_blank=True, default="")


class ShiftInput(FieldSeparationInputMixin, serializers.Serializer):
    site = ScopedRowField(lambda m: selectors.sites_in_scope(m, "shift"), "site")
    client = ScopedRowField(
        lambda m: selectors.clients_for(()), "client", required=False, allow_null=True
    )
    member = ScopedRowField(
        lambda m: selectors.members_in_scope(m, "shift"),
        "member",
        required=False,
        allow_null=True,
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    bill_rate = _money()
    pay_rate = _money()
    internal_notes = _notes()

    def validate(self, data):
        if data["ends_at"] <= data["starts_at"]:
            raise serializers.ValidationError({"ends_at": "A shift must end after it starts."})
        return data


class LeaveRequestInput(serializers.Serializer):
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    reason = serializers.CharField(max_length=500, allow_blank=True, default="")

    def validate(self, data):
        if data["ends_on"] < data["starts_on"]:
            raise serializers.ValidationError({"ends_on": "Leave cannot end before it starts."})
        return data


class ExpenseInput(serializers.Serializer):
    amount = _money()
    description = serializers.CharField(max_length=500)


class TimesheetInput(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    hours = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0)
    amount = _money()

    def validate(self, data):
        if data["period_end"] < data["period_start"]:
            raise serializers.ValidationError(
                {"period_end": "The period cannot end before it starts."}
            )
        return data


class DocumentInput(FieldSeparationInputMixin, serializers.Serializer):
    member = ScopedRowField(
        lambda m: selectors.members_in_scope(m, "document"), "member", required=False
    )
    title = serializers.CharField(max_length=200)
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    internal_notes = _notes()


class ClientInput(FieldSeparationInputMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    internal_notes = _notes()


def _department_field(**kwargs) -> ScopedRowField:
    return ScopedRowField(lambda m: selectors.departments_list(), "department", **kwargs)


def _check_name_free(name: str, parent: Department | None, moving: Department | None = None):
    """Names are unique under one parent (a database constraint the services validate too).
    Checked here as well so the 400 names the field and says where the clash is, rather than
    the model's generic "already exists" message."""
    taken = selectors.departments_named(name, parent)
    if moving is not None:
        taken = taken.exclude(pk=moving.pk)
    if taken.exists():
        where = f"under {parent.name}" if parent else "at the top level"
        raise serializers.ValidationError(
            {"name" if moving is None else "parent": f"There is already a {name} {where}."}
        )


class DepartmentInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    parent = _department_field(required=False, allow_null=True, default=None)

    def validate(self, data):
        _check_name_free(data["name"], data["parent"])
        return data


class DepartmentChange(serializers.Serializer):
    """PATCH: ``parent`` moves the department with its subtree, ``head`` sets (or with null
    clears) its head; either or both."""

    parent = _department_field(required=False, allow_null=True)
    head = ScopedRowField(
        lambda m: selectors.active_members(), "member", required=False, allow_null=True
    )

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("Give a new parent, a new head, or both.")
        if "parent" in data:
            _check_name_free(self.instance.name, data["parent"], moving=self.instance)
        return data


# --- views --------------------------------------------------------------------------------


class RecordPagination(CursorPagination):
    """50 rows a page (up to 200 with ``page_size``), in the order the selector gives, which
    is the one place each list's order is defined."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def get_ordering(self, request, queryset, view):
        return tuple(queryset.query.order_by)


class SiteListAPI(ListAPIView):
    serializer_class = SiteSerializer
    required_permission = "site.view"
    required_scopes = token_scopes(read="sites:read")
    pagination_class = RecordPagination

    def get_queryset(self):
        return selectors.sites_list()


class SiteDetailAPI(RetrieveAPIView):
    serializer_class = SiteSerializer
    required_permission = "site.view"
    required_scopes = token_scopes(read="sites:read")

    def get_object(self):
        return selectors.access_site(self.kwargs["site_id"])


class RecordListCreateAPI(ListCreateAPIView):
    """GET: the visible rows, a page at a time. POST: ``input_class`` checks the body and the
    subclass's ``create_record(**validated_data)`` makes the row through its service."""

    pagination_class = RecordPagination
    input_class: type[serializers.Serializer]

    @property
    def withheld(self) -> frozenset[str]:
        return withheld_for_request(self.request)

    def create(self, request, *args, **kwargs):
        form = self.input_class(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        record = self.create_record(**form.validated_data)
        created = self.get_queryset().get(pk=record.pk)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)


class ShiftListCreateAPI(RecordListCreateAPI):
    serializer_class = ShiftSerializer
    input_class = ShiftInput
    required_permission = {"GET": "shift.view", "POST": "shift.create"}
    required_scopes = token_scopes(read="shifts:read", write="shifts:write")

    def get_queryset(self):
        return selectors.shifts_for(self.request.membership, self.withheld)

    def create_record(self, **data):
        return services.shift_create(**data)


class ShiftDetailAPI(RetrieveAPIView):
    serializer_class = ShiftSerializer
    required_permission = "shift.view"
    required_scopes = token_scopes(read="shifts:read")

    def get_object(self):
        return selectors.access_shift(
            self.request.membership, withheld_for_request(self.request), self.kwargs["shift_id"]
        )


class ShiftExportAPI(APIView):
    """GET: every shift the member can see, as CSV, with the columns they may receive (Z7,
    G3). The export is recorded before the rows stream (L1)."""

    required_permission = "shift.export"
    required_scopes = token_scopes(read="shifts:read")

    def get(self, request, org_slug: str):
        serializer = ShiftSerializer(context={"request": request})
        export = exports.shift_export_request(
            membership=request.membership,
            withheld=withheld_for_request(request),
            columns=list(serializer.fields),
        )
        response = StreamingHttpResponse(
            exports.shift_export_lines(export, serializer), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


class LeaveRequestListCreateAPI(RecordListCreateAPI):
    """POST asks for leave for the requesting member themselves."""

    serializer_class = LeaveRequestSerializer
    input_class = LeaveRequestInput
    required_permission = {"GET": "leave.view", "POST": "leave.create"}
    required_scopes = token_scopes(read="leave:read", write="leave:write")

    def get_queryset(self):
        return selectors.leave_requests_for(self.request.membership)

    def create_record(self, **data):
        return services.leave_request_create(member=self.request.membership, **data)


class LeaveRequestDetailAPI(RetrieveAPIView):
    serializer_class = LeaveRequestSerializer
    required_permission = "leave.view"
    required_scopes = token_scopes(read="leave:read")

    def get_object(self):
        return selectors.access_leave_request(self.request.membership, self.kwargs["leave_id"])


class ExpenseListCreateAPI(RecordListCreateAPI):
    """POST claims an expense for the requesting member themselves."""

    serializer_class = ExpenseSerializer
    input_class = ExpenseInput
    required_permission = {"GET": "expense.view", "POST": "expense.create"}
    required_scopes = token_scopes(read="expenses:read", write="expenses:write")

    def get_queryset(self):
        return selectors.expenses_for(self.request.membership)

    def create_record(self, **data):
        return services.expense_create(member=self.request.membership, **data)


class ExpenseDetailAPI(RetrieveAPIView):
    serializer_class = ExpenseSerializer
    required_permission = "expense.view"
    required_scopes = token_scopes(read="expenses:read")

    def get_object(self):
        return selectors.access_expense(self.request.membership, self.kwargs["expense_id"])


class TimesheetListCreateAPI(RecordListCreateAPI):
    """POST submits a timesheet for the requesting member themselves."""

    serializer_class = TimesheetSerializer
    input_class = TimesheetInput
    required_permission = {"GET": "timesheet.view", "POST": "timesheet.create"}
    required_scopes = token_scopes(read="timesheets:read", write="timesheets:write")

    def get_queryset(self):
        return selectors.timesheets_for(self.request.membership)

    def create_record(self, **data):
        return services.timesheet_create(member=self.request.membership, **data)


class TimesheetDetailAPI(RetrieveAPIView):
    serializer_class = TimesheetSerializer
    required_permission = "timesheet.view"
    required_scopes = token_scopes(read="timesheets:read")

    def get_object(self):
        return selectors.access_timesheet(self.request.membership, self.kwargs["timesheet_id"])


class DocumentListCreateAPI(RecordListCreateAPI):
    """POST files a document for a member in the creator's scope (themselves by default)."""

    serializer_class = DocumentSerializer
    input_class = DocumentInput
    required_permission = {"GET": "document.view", "POST": "document.create"}
    required_scopes = token_scopes(read="documents:read", write="documents:write")

    def get_queryset(self):
        return selectors.documents_for(self.request.membership, self.withheld)

    def create_record(self, *, member=None, **data):
        return services.document_create(member=member or self.request.membership, **data)


class DocumentDetailAPI(RetrieveAPIView):
    serializer_class = DocumentSerializer
    required_permission = "document.view"
    required_scopes = token_scopes(read="documents:read")

    def get_object(self):
        return selectors.access_document(
            self.request.membership,
            withheld_for_request(self.request),
            self.kwargs["document_id"],
        )


class ClientListCreateAPI(RecordListCreateAPI):
    serializer_class = ClientSerializer
    input_class = ClientInput
    required_permission = {"GET": "client.view", "POST": "client.create"}
    required_scopes = token_scopes(read="clients:read", write="clients:write")

    def get_queryset(self):
        return selectors.clients_for(self.withheld)

    def create_record(self, **data):
        return services.client_create(**data)


class ClientDetailAPI(RetrieveAPIView):
    serializer_class = ClientSerializer
    required_permission = "client.view"
    required_scopes = token_scopes(read="clients:read")

    def get_object(self):
        return selectors.access_client(withheld_for_request(self.request), self.kwargs["client_id"])


class DepartmentListCreateAPI(RecordListCreateAPI):
    """The department tree (Z5). POST ``{name, parent}`` adds a department."""

    serializer_class = DepartmentSerializer
    input_class = DepartmentInput
    required_permission = {"GET": "department.view", "POST": "department.create"}
    required_scopes = token_scopes(read="departments:read", write="departments:write")

    def get_queryset(self):
        return selectors.departments_list()

    def create_record(self, **data):
        return services.department_create(**data)


class DepartmentDetailAPI(RetrieveAPIView):
    """PATCH ``{parent}`` moves the department and everything below it; a move under itself
    or one of its descendants, or to an unknown parent, is a 400 and nothing changes.
    PATCH ``{head}`` sets its head (null: none)."""

    serializer_class = DepartmentSerializer
    required_permission = {"GET": "department.view", "PATCH": "department.update"}
    required_scopes = token_scopes(read="departments:read", write="departments:write")

    def get_object(self):
        return selectors.access_department(self.kwargs["department_id"])

    def patch(self, request, org_slug: str, department_id: int):
        department = self.get_object()
        form = DepartmentChange(
            department, data=request.data, context=self.get_serializer_context()
        )
        form.is_valid(raise_exception=True)
        if "parent" in form.validated_data:
            department = services.department_move(
                department=department, parent=form.validated_data["parent"]
            )
        if "head" in form.validated_data:
            department = services.department_set_head(
                department=department, head=form.validated_data["head"]
            )
        return Response(self.get_serializer(self.get_object()).data)
