"""The workforce API: sites, shifts, leave, expenses, timesheets, documents, clients and the
department tree, under ``/api/v1/o/<slug>/``.

Reads go through ``workforce.selectors`` (organisation, visibility scope Z4, live rows, and
withheld fields not even loaded); output serializers drop the fields the member may not
receive (Z7, ``rbac.fields.FieldSeparationMixin``), so they are absent, not blanked. Writes
are checked by an input serializer (a 400 with a message per field) and made by
``workforce.services``; a create answers with the new row as a read would show it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, ListCreateAPIView, RetrieveAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from config.api_errors import ERROR_RESPONSES, Conflict
from rbac.fields import FieldSeparationInputMixin, FieldSeparationMixin, withheld_for_request
from tokens.scopes import token_scopes
from workforce import exports, people, selectors, services
from workforce.models import (
    MONEY,
    Approvable,
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
        return membership.user.get_full_name()


@extend_schema_field(NamedRowSerializer(allow_null=True))
class AnnotatedRowField(serializers.Field):
    """A referenced row as ``{id, name}`` (or null) from the row's ``<field>_id`` column and
    the ``<field>_name`` its selector annotates: no related object is loaded or serialized
    (``workforce.selectors.shifts_for`` says why)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, row):
        pk = getattr(row, f"{self.field_name}_id")
        return None if pk is None else {"id": pk, "name": getattr(row, f"{self.field_name}_name")}


class ShiftSerializer(FieldSeparationMixin, serializers.ModelSerializer):
    site = AnnotatedRowField()
    client = AnnotatedRowField()
    department = AnnotatedRowField()
    member = AnnotatedRowField()
    designation = AnnotatedRowField()
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
            "designation",
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


class TimesheetSerializer(FieldSeparationMixin, MemberRecordSerializer):
    # A timesheet's amount is pay (Z7, ``Timesheet.guarded_fields``): for members who see pay
    # rates, and for the member themselves on their own timesheets; never on the client portal.
    own_rows_reveal = frozenset({"amount"})

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


@extend_schema_field(OpenApiTypes.INT)
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


def _current(form: serializers.Serializer, data: dict, name: str):
    """A value after this request: the one given, or on a PATCH the row's own, so rules
    across fields (dates in order) hold for partial changes too."""
    return data[name] if name in data else getattr(form.instance, name)


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
    designation = ScopedRowField(
        lambda m: people.designations_list(), "designation", required=False, allow_null=True
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    bill_rate = _money()
    pay_rate = _money()
    internal_notes = _notes()

    def validate(self, data):
        starts_at, ends_at = _current(self, data, "starts_at"), _current(self, data, "ends_at")
        if ends_at <= starts_at:
            raise serializers.ValidationError({"ends_at": "A shift must end after it starts."})
        return data


class LeaveRequestInput(serializers.Serializer):
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    reason = serializers.CharField(max_length=500, allow_blank=True, default="")

    def validate(self, data):
        if _current(self, data, "ends_on") < _current(self, data, "starts_on"):
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
        if _current(self, data, "period_end") < _current(self, data, "period_start"):
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


# --- preconditions (D8) -------------------------------------------------------------------
#
# Lost updates: every detail response (GET, and the answer to a PATCH or a restore) carries
# an ``ETag``, a version of the row (``services.record_version``). A PATCH or DELETE that
# sends ``If-Match`` is applied only if the row still has one of the versions given (or
# ``*``); otherwise it is a 412 and nothing changes. The check and the write happen under a
# row lock in one transaction, so two writers holding the same version cannot both win.
#
# A PATCH or DELETE without ``If-Match`` is accepted (last write wins): simple scripts and
# the portal's own forms keep working, and a client that wants protection sends the header.
# Weak validators (``W/"..."``) never match: If-Match uses strong comparison (RFC 9110 13.1.1).

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the version you read; a different current version is a 412.",
)


def expected_versions(request) -> list[str] | None:
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    if tags == ["*"]:
        return ["*"]
    return [tag[1:-1] for tag in tags if tag.startswith('"')]


def _error_responses(*codes: int) -> dict:
    return {code: ERROR_RESPONSES[code] for code in codes}


# --- filters and ordering -----------------------------------------------------------------

_ID = {"required": False, "min_value": 1, "max_value": 2**63 - 1}


class ListFilters(serializers.Serializer):
    """Query parameters narrowing a list; ``lookups`` maps each to its ORM lookup. Unknown
    parameters are ignored; a malformed value is a 400 naming the parameter."""

    lookups: dict[str, str] = {}


class ShiftFilters(ListFilters):
    site = serializers.IntegerField(**_ID)
    client = serializers.IntegerField(**_ID)
    member = serializers.IntegerField(**_ID)
    department = serializers.IntegerField(**_ID)
    starts_after = serializers.DateTimeField(required=False, help_text="Starts at or after.")
    starts_before = serializers.DateTimeField(required=False, help_text="Starts before.")
    lookups = {
        "site": "site_id",
        "client": "client_id",
        "member": "member_id",
        "department": "department_id",
        "starts_after": "starts_at__gte",
        "starts_before": "starts_at__lt",
    }


class ApprovableFilters(ListFilters):
    status = serializers.ChoiceField(choices=Approvable.Status.choices, required=False)
    member = serializers.IntegerField(**_ID)
    lookups = {"status": "status", "member": "member_id"}


class DocumentFilters(ListFilters):
    member = serializers.IntegerField(**_ID)
    expires_before = serializers.DateField(required=False, help_text="Expires on or before.")
    lookups = {"member": "member_id", "expires_before": "expires_on__lte"}


class RecordPagination(CursorPagination):
    """50 rows a page (up to 200 with ``page_size``), in the order the selector gives (or the
    one asked for with ``ordering``), which is the one place each list's order is defined."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def get_ordering(self, request, queryset, view):
        return tuple(queryset.query.order_by)


class RecordListMixin:
    """Filtering (``filter_class``) and ordering (``?ordering=field`` or ``-field``, among
    ``ordering_fields``; anything else is a 400 listing the choices) for cursor-paginated
    lists. Both only add conditions to the list's one query; ``id`` breaks ties, so the
    cursor is stable."""

    pagination_class = RecordPagination
    filter_class: type[ListFilters] | None = None
    ordering_fields: tuple[str, ...] = ()

    def filter_queryset(self, queryset):
        params = self.request.query_params
        if self.filter_class is not None:
            form = self.filter_class(data=params)
            form.is_valid(raise_exception=True)
            lookups = form.lookups
            queryset = queryset.filter(
                **{lookups[name]: value for name, value in form.validated_data.items()}
            )
        ordering = params.get("ordering")
        if ordering:
            # Z7: an order by a field withheld from some rows would rank what is not shown.
            serializer = self.get_serializer()
            withheld = getattr(serializer, "withheld_somewhere", set)()
            orderable = [name for name in self.ordering_fields if name not in withheld]
            if ordering.lstrip("-") not in orderable or ordering.count("-") > 1:
                choices = ", ".join(orderable) or "none (this list has one order)"
                raise serializers.ValidationError(
                    {"ordering": [f"Order by one of: {choices} (prefix - for descending)."]}
                )
            queryset = queryset.order_by(ordering, "-id" if ordering[0] == "-" else "id")
        return queryset


def _listed(view: type) -> type:
    """Documents a list view's query parameters and, for a POST, its input and answer."""
    parameters: list = [view.filter_class] if view.filter_class else []
    if view.ordering_fields:
        choices = [f"{sign}{name}" for name in view.ordering_fields for sign in ("", "-")]
        parameters.append(OpenApiParameter("ordering", str, enum=choices))
    documented = {"get": extend_schema(parameters=parameters, responses=view.serializer_class)}
    if getattr(view, "input_class", None) is not None:
        documented["post"] = extend_schema(
            request=view.input_class,
            responses={201: view.serializer_class, **_error_responses(400)},
        )
    return extend_schema_view(**documented)(view)


# --- views --------------------------------------------------------------------------------


class RecordDetailAPI(RetrieveAPIView):
    """GET: the row with its ``ETag``. PATCH: ``input_class`` checks the fields given (the
    same rules as a create, against the row's other values) and ``update_record`` changes
    the row through its service; the answer is the row as a read now shows it. DELETE: soft
    delete (G6), 204. Both honour ``If-Match`` (see "preconditions" above)."""

    input_class: type[serializers.Serializer] | None = None

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    def _answer(self, record) -> Response:
        response = Response(self.get_serializer(record).data)
        response["ETag"] = f'"{services.record_version(record)}"'
        return response

    def check_may_change(self, record) -> None:
        """Refuses a PATCH of a row the member sees but may not change (404)."""

    def patch(self, request, *args, **kwargs):
        record = self.get_object()
        self.check_may_change(record)
        form = self.input_class(
            record, data=request.data, partial=True, context=self.get_serializer_context()
        )
        form.is_valid(raise_exception=True)
        if not form.validated_data:
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: ["Give at least one field to change."]}
            )
        self.update_record(record, expected_versions(request), form.validated_data)
        return self._answer(self.get_object())

    def delete(self, request, *args, **kwargs):
        services.record_delete(
            record=self.get_object(), expected_versions=expected_versions(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def update_record(self, record, versions, changes: dict):
        raise NotImplementedError


class OwnPendingDetailAPI(RecordDetailAPI):
    """Leave, expenses and timesheets: changed only by their own member (another's is a 404,
    whoever can see it: approvers decide requests, they do not rewrite them, Z6), and only
    while pending (409 once decided, from the service)."""

    def check_may_change(self, record) -> None:
        if record.member_id != self.request.membership.pk:
            raise Http404("You have no such record to change.")


def _detailed(view: type) -> type:
    """Documents a detail view's PATCH (partial input) and DELETE with their preconditions."""
    documented = {"get": extend_schema(responses={200: view.serializer_class})}
    methods = view.required_permission
    if "PATCH" in methods:
        documented["patch"] = extend_schema(
            request=view.input_class,
            parameters=[IF_MATCH],
            responses={200: view.serializer_class, **_error_responses(400, 404, 409, 412)},
        )
    if "DELETE" in methods:
        documented["delete"] = extend_schema(
            parameters=[IF_MATCH], responses={204: None, **_error_responses(404, 412)}
        )
    return extend_schema_view(**documented)(view)


class SiteInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    address = serializers.CharField(max_length=2000, allow_blank=True, default="")
    department = _department_field(required=False, allow_null=True, default=None)


@_listed
class SiteListAPI(RecordListMixin, ListAPIView):
    serializer_class = SiteSerializer
    required_permission = "site.view"
    required_scopes = token_scopes(read="sites:read")
    ordering_fields = ("name", "created_at")

    def get_queryset(self):
        return selectors.sites_list()


@_detailed
class SiteDetailAPI(RecordDetailAPI):
    serializer_class = SiteSerializer
    input_class = SiteInput
    required_permission = {"GET": "site.view", "PATCH": "site.update", "DELETE": "site.delete"}
    required_scopes = token_scopes(read="sites:read", write="sites:write")

    def get_object(self):
        return selectors.access_site(self.kwargs["site_id"])

    def update_record(self, record, versions, changes):
        services.site_update(site=record, expected_versions=versions, **changes)


class RecordListCreateAPI(RecordListMixin, ListCreateAPIView):
    """GET: the visible rows, a page at a time. POST: ``input_class`` checks the body and the
    subclass's ``create_record(**validated_data)`` makes the row through its service."""

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


@_listed
class ShiftListCreateAPI(RecordListCreateAPI):
    serializer_class = ShiftSerializer
    input_class = ShiftInput
    required_permission = {"GET": "shift.view", "POST": "shift.create"}
    required_scopes = token_scopes(read="shifts:read", write="shifts:write")
    filter_class = ShiftFilters
    ordering_fields = ("starts_at", "ends_at", "created_at", "updated_at")

    def get_queryset(self):
        return selectors.shifts_for(self.request.membership, self.withheld)

    def create_record(self, **data):
        return services.shift_create(**data)


@_detailed
class ShiftDetailAPI(RecordDetailAPI):
    serializer_class = ShiftSerializer
    input_class = ShiftInput
    required_permission = {"GET": "shift.view", "PATCH": "shift.update", "DELETE": "shift.delete"}
    required_scopes = token_scopes(read="shifts:read", write="shifts:write")

    def get_object(self):
        return selectors.access_shift(
            self.request.membership, withheld_for_request(self.request), self.kwargs["shift_id"]
        )

    def update_record(self, record, versions, changes):
        services.shift_update(shift=record, expected_versions=versions, **changes)


@extend_schema_view(get=extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}))
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


@_listed
class LeaveRequestListCreateAPI(RecordListCreateAPI):
    """POST asks for leave for the requesting member themselves."""

    serializer_class = LeaveRequestSerializer
    input_class = LeaveRequestInput
    required_permission = {"GET": "leave.view", "POST": "leave.create"}
    required_scopes = token_scopes(read="leave:read", write="leave:write")
    filter_class = ApprovableFilters
    ordering_fields = ("starts_on", "created_at", "updated_at")

    def get_queryset(self):
        return selectors.leave_requests_for(self.request.membership)

    def create_record(self, **data):
        return services.leave_request_create(member=self.request.membership, **data)


@_detailed
class LeaveRequestDetailAPI(OwnPendingDetailAPI):
    serializer_class = LeaveRequestSerializer
    input_class = LeaveRequestInput
    required_permission = {
        "GET": "leave.view",
        "PATCH": "leave.update_own",
        "DELETE": "leave.delete",
    }
    required_scopes = token_scopes(read="leave:read", write="leave:write")

    def get_object(self):
        return selectors.access_leave_request(self.request.membership, self.kwargs["leave_id"])

    def update_record(self, record, versions, changes):
        services.leave_request_update(leave=record, expected_versions=versions, **changes)


@_listed
class ExpenseListCreateAPI(RecordListCreateAPI):
    """POST claims an expense for the requesting member themselves."""

    serializer_class = ExpenseSerializer
    input_class = ExpenseInput
    required_permission = {"GET": "expense.view", "POST": "expense.create"}
    required_scopes = token_scopes(read="expenses:read", write="expenses:write")
    filter_class = ApprovableFilters
    ordering_fields = ("created_at", "updated_at", "amount")

    def get_queryset(self):
        return selectors.expenses_for(self.request.membership)

    def create_record(self, **data):
        return services.expense_create(member=self.request.membership, **data)


@_detailed
class ExpenseDetailAPI(OwnPendingDetailAPI):
    serializer_class = ExpenseSerializer
    input_class = ExpenseInput
    required_permission = {
        "GET": "expense.view",
        "PATCH": "expense.update_own",
        "DELETE": "expense.delete",
    }
    required_scopes = token_scopes(read="expenses:read", write="expenses:write")

    def get_object(self):
        return selectors.access_expense(self.request.membership, self.kwargs["expense_id"])

    def update_record(self, record, versions, changes):
        services.expense_update(expense=record, expected_versions=versions, **changes)


@_listed
class TimesheetListCreateAPI(RecordListCreateAPI):
    """POST submits a timesheet for the requesting member themselves."""

    serializer_class = TimesheetSerializer
    input_class = TimesheetInput
    required_permission = {"GET": "timesheet.view", "POST": "timesheet.create"}
    required_scopes = token_scopes(read="timesheets:read", write="timesheets:write")
    filter_class = ApprovableFilters
    ordering_fields = ("period_start", "created_at", "updated_at", "amount")

    def get_queryset(self):
        return selectors.timesheets_for(self.request.membership)

    def create_record(self, **data):
        return services.timesheet_create(member=self.request.membership, **data)


@_detailed
class TimesheetDetailAPI(OwnPendingDetailAPI):
    serializer_class = TimesheetSerializer
    input_class = TimesheetInput
    required_permission = {
        "GET": "timesheet.view",
        "PATCH": "timesheet.update_own",
        "DELETE": "timesheet.delete",
    }
    required_scopes = token_scopes(read="timesheets:read", write="timesheets:write")

    def get_object(self):
        return selectors.access_timesheet(self.request.membership, self.kwargs["timesheet_id"])

    def update_record(self, record, versions, changes):
        services.timesheet_update(timesheet=record, expected_versions=versions, **changes)


@_listed
class DocumentListCreateAPI(RecordListCreateAPI):
    """POST files a document for a member in the creator's scope (themselves by default)."""

    serializer_class = DocumentSerializer
    input_class = DocumentInput
    required_permission = {"GET": "document.view", "POST": "document.create"}
    required_scopes = token_scopes(read="documents:read", write="documents:write")
    filter_class = DocumentFilters
    ordering_fields = ("title", "created_at", "updated_at")

    def get_queryset(self):
        return selectors.documents_for(self.request.membership, self.withheld)

    def create_record(self, *, member=None, **data):
        return services.document_create(member=member or self.request.membership, **data)


class DocumentChange(FieldSeparationInputMixin, serializers.Serializer):
    """PATCH of a document: its member stays who it was filed for."""

    title = serializers.CharField(max_length=200)
    expires_on = serializers.DateField(allow_null=True)
    internal_notes = _notes()


@_detailed
class DocumentDetailAPI(RecordDetailAPI):
    serializer_class = DocumentSerializer
    input_class = DocumentChange
    required_permission = {
        "GET": "document.view",
        "PATCH": "document.update",
        "DELETE": "document.delete",
    }
    required_scopes = token_scopes(read="documents:read", write="documents:write")

    def get_object(self):
        return selectors.access_document(
            self.request.membership,
            withheld_for_request(self.request),
            self.kwargs["document_id"],
        )

    def update_record(self, record, versions, changes):
        services.document_update(document=record, expected_versions=versions, **changes)


@_listed
class ClientListCreateAPI(RecordListCreateAPI):
    serializer_class = ClientSerializer
    input_class = ClientInput
    required_permission = {"GET": "client.view", "POST": "client.create"}
    required_scopes = token_scopes(read="clients:read", write="clients:write")
    ordering_fields = ("name", "created_at")

    def get_queryset(self):
        return selectors.clients_for(self.withheld)

    def create_record(self, **data):
        return services.client_create(**data)


@_detailed
class ClientDetailAPI(RecordDetailAPI):
    serializer_class = ClientSerializer
    input_class = ClientInput
    required_permission = {
        "GET": "client.view",
        "PATCH": "client.update",
        "DELETE": "client.delete",
    }
    required_scopes = token_scopes(read="clients:read", write="clients:write")

    def get_object(self):
        return selectors.access_client(withheld_for_request(self.request), self.kwargs["client_id"])

    def update_record(self, record, versions, changes):
        services.client_update(client=record, expected_versions=versions, **changes)


@_listed
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


@extend_schema_view(
    patch=extend_schema(
        request=DepartmentChange,
        responses={200: DepartmentSerializer, **_error_responses(400, 404)},
    )
)
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


# --- deleted rows (G6) --------------------------------------------------------------------


@dataclass(frozen=True)
class DeletedModule:
    """A module whose soft-deleted rows members holding ``<subject>.delete`` list and restore,
    within their visibility scope (Z4) and with the fields they may receive (Z7)."""

    subject: str
    serializer: type[serializers.Serializer]
    rows: Callable[..., QuerySet]  # (membership, withheld, deleted) -> queryset
    scopes: Mapping[str, str]


def _with_deleted_at(serializer: type[serializers.ModelSerializer]):
    meta = type("Meta", (serializer.Meta,), {"fields": [*serializer.Meta.fields, "deleted_at"]})
    meta.read_only_fields = meta.fields
    return type(f"Deleted{serializer.__name__}", (serializer,), {"Meta": meta})


DELETED_MODULES: dict[str, DeletedModule] = {
    "shifts": DeletedModule(
        "shift",
        _with_deleted_at(ShiftSerializer),
        lambda m, w, d: selectors.shifts_for(m, w, deleted=d),
        token_scopes(read="shifts:read", write="shifts:write"),
    ),
    "sites": DeletedModule(
        "site",
        _with_deleted_at(SiteSerializer),
        lambda m, w, d: selectors.sites_list(deleted=d),
        token_scopes(read="sites:read", write="sites:write"),
    ),
    "clients": DeletedModule(
        "client",
        _with_deleted_at(ClientSerializer),
        lambda m, w, d: selectors.clients_for(w, deleted=d),
        token_scopes(read="clients:read", write="clients:write"),
    ),
    "leave": DeletedModule(
        "leave",
        _with_deleted_at(LeaveRequestSerializer),
        lambda m, w, d: selectors.leave_requests_for(m, deleted=d),
        token_scopes(read="leave:read", write="leave:write"),
    ),
    "expenses": DeletedModule(
        "expense",
        _with_deleted_at(ExpenseSerializer),
        lambda m, w, d: selectors.expenses_for(m, deleted=d),
        token_scopes(read="expenses:read", write="expenses:write"),
    ),
    "timesheets": DeletedModule(
        "timesheet",
        _with_deleted_at(TimesheetSerializer),
        lambda m, w, d: selectors.timesheets_for(m, deleted=d),
        token_scopes(read="timesheets:read", write="timesheets:write"),
    ),
    "documents": DeletedModule(
        "document",
        _with_deleted_at(DocumentSerializer),
        lambda m, w, d: selectors.documents_for(m, w, deleted=d),
        token_scopes(read="documents:read", write="documents:write"),
    ),
}


class DeletedListAPI(RecordListMixin, ListAPIView):
    """GET ``deleted/<module>/``: the module's soft-deleted rows, most recently deleted
    first."""

    module: DeletedModule

    def get_queryset(self):
        return self.module.rows(self.request.membership, withheld_for_request(self.request), True)


class RestoreAPI(APIView):
    """POST ``deleted/<module>/<id>/restore/``: brings the row back (audited, G6) and answers
    with it as a read now shows it. Unknown, live, out-of-scope and other organisations' rows
    are all a 404. A row that would clash with the member's live rows (overlapping shifts,
    leave or timesheets) is a 409, as a decided record's change is: the request was fine,
    the state of the other rows refuses it."""

    module: DeletedModule

    def post(self, request, org_slug: str, record_id: int):
        withheld = withheld_for_request(request)
        record = get_object_or_404(
            self.module.rows(request.membership, withheld, True), pk=record_id
        )
        try:
            services.record_restore(record=record)
        except DjangoValidationError as refusal:
            raise Conflict(" ".join(refusal.messages)) from None
        restored = self.module.rows(request.membership, withheld, False).get(pk=record_id)
        context = {"request": request, "view": self}
        response = Response(self.module.serializer(restored, context=context).data)
        response["ETag"] = f'"{services.record_version(restored)}"'
        return response


def deleted_views(name: str) -> tuple:
    """The list and restore views of one module, each declaring ``<subject>.delete``."""
    module = DELETED_MODULES[name]
    declared = {
        "module": module,
        "required_permission": f"{module.subject}.delete",
        "required_scopes": module.scopes,
    }
    title = name.title()
    listing = type(
        f"Deleted{title}ListAPI",
        (DeletedListAPI,),
        {**declared, "serializer_class": module.serializer},
    )
    restore = type(f"Deleted{title}RestoreAPI", (RestoreAPI,), declared)
    listing = extend_schema_view(get=extend_schema(responses=module.serializer))(listing)
    restore = extend_schema_view(
        post=extend_schema(
            request=None, responses={200: module.serializer, **_error_responses(404, 409)}
        )
    )(restore)
    return listing.as_view(), restore.as_view()
