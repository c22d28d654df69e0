"""The API of time, people and documents, under ``/api/v1/o/<slug>/`` (D1-D5, D8):
clocking in and out, attendance, leave balances, timesheets built from attendance, issued
documents, designations and staff profiles.

As in ``workforce.api``: reads through scoped selectors (a row outside the member's scope, or
of another organisation, is a 404), writes checked by an input serializer and made by a
service, and every view declares its permission and token scopes (Z1, A17). Text is returned
verbatim as JSON strings; whatever renders it escapes it.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from rbac.access import membership_has
from rbac.permissions import SIGNED_IN_ONLY, Declaration
from tokens.scopes import token_scopes
from workforce import documents, people, selectors, timekeeping
from workforce.api import (
    MemberSerializer,
    NamedRowSerializer,
    RecordPagination,
    ScopedRowField,
    TimesheetSerializer,
)
from workforce.models import Attendance, Designation, IssuedDocument, StaffProfile

# --- attendance (D2) ------------------------------------------------------------------------


class AttendanceShiftSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    site = serializers.CharField(source="site.name", read_only=True)
    starts_at = serializers.DateTimeField(read_only=True)
    ends_at = serializers.DateTimeField(read_only=True)


class AttendanceSerializer(serializers.ModelSerializer):
    shift = AttendanceShiftSerializer(read_only=True)
    member = MemberSerializer(read_only=True)
    department = NamedRowSerializer(read_only=True)

    class Meta:
        model = Attendance
        fields = [
            "id",
            "shift",
            "member",
            "department",
            "clock_in_at",
            "clock_out_at",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AttendanceListAPI(ListAPIView):
    serializer_class = AttendanceSerializer
    pagination_class = RecordPagination
    required_permission = "attendance.view"
    required_scopes = token_scopes(read="attendance:read")

    def get_queryset(self):
        return timekeeping.attendance_for(self.request.membership)


class AttendanceDetailAPI(RetrieveAPIView):
    serializer_class = AttendanceSerializer
    required_permission = "attendance.view"
    required_scopes = token_scopes(read="attendance:read")

    def get_object(self):
        return timekeeping.access_attendance(self.request.membership, self.kwargs["attendance_id"])


class _ClockAPI(APIView):
    """POST with no body, on a shift assigned to the requesting member; any other shift is a
    404, whatever the member's role lets them see."""

    success_status = status.HTTP_200_OK

    def clock(self, *, shift, member) -> Attendance:
        raise NotImplementedError

    @extend_schema(request=None, responses={200: AttendanceSerializer, 201: AttendanceSerializer})
    def post(self, request, org_slug: str, shift_id: int):
        shift = timekeeping.assigned_shift(request.membership, shift_id)
        attendance = self.clock(shift=shift, member=request.membership)
        row = timekeeping.attendance_for(request.membership).get(pk=attendance.pk)
        return Response(AttendanceSerializer(row).data, status=self.success_status)


class ClockInAPI(_ClockAPI):
    """Clock-in opens 30 minutes before the shift starts and closes when it ends; more than
    5 minutes after the start is late. Twice is a 400 saying when the first one was."""

    required_permission = "attendance.create"
    required_scopes = token_scopes(write="attendance:write")
    success_status = status.HTTP_201_CREATED

    def clock(self, *, shift, member) -> Attendance:
        return timekeeping.attendance_clock_in(shift=shift, member=member)


class ClockOutAPI(_ClockAPI):
    required_permission = "attendance.update_own"
    required_scopes = token_scopes(write="attendance:write")

    def clock(self, *, shift, member) -> Attendance:
        return timekeeping.attendance_clock_out(shift=shift, member=member)


# --- leave balance (D3) ---------------------------------------------------------------------


class LeaveBalanceSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    year = serializers.IntegerField()
    allowance = serializers.DecimalField(max_digits=6, decimal_places=1)
    taken = serializers.IntegerField()
    pending = serializers.IntegerField()
    remaining = serializers.DecimalField(max_digits=7, decimal_places=1)


class LeaveBalanceQuery(serializers.Serializer):
    member = ScopedRowField(
        lambda m: selectors.members_in_scope(m, "leave"), "member", required=False
    )
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)


class LeaveBalanceAPI(APIView):
    """GET ``?member=<membership id>&year=<year>``: the requester's own balance by default;
    another member's for those whose leave scope covers them (anyone else is a 400 that
    does not say whether the member exists)."""

    required_permission = "leave.view"
    required_scopes = token_scopes(read="leave:read")

    @extend_schema(parameters=[LeaveBalanceQuery], responses=LeaveBalanceSerializer)
    def get(self, request, org_slug: str):
        query = LeaveBalanceQuery(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        member = query.validated_data.get("member") or request.membership
        balance = people.leave_balance(member=member, year=query.validated_data.get("year"))
        return Response(LeaveBalanceSerializer(balance).data)


# --- timesheets from attendance (D5) --------------------------------------------------------


class TimesheetBuildInput(serializers.Serializer):
    member = ScopedRowField(
        lambda m: selectors.members_in_scope(m, "timesheet"), "member", required=False
    )
    period_start = serializers.DateField()
    period_end = serializers.DateField()

    def validate(self, data):
        if data["period_end"] < data["period_start"]:
            raise serializers.ValidationError(
                {"period_end": "The period cannot end before it starts."}
            )
        return data


class TimesheetBuildAPI(APIView):
    """POST ``{period_start, period_end, member?}``: a pending timesheet whose hours and
    amount come from the member's completed attendance in the period (the requester's own by
    default; a member in scope for managers)."""

    required_permission = "timesheet.create"
    required_scopes = token_scopes(write="timesheets:write")

    @extend_schema(request=TimesheetBuildInput, responses={201: TimesheetSerializer})
    def post(self, request, org_slug: str):
        form = TimesheetBuildInput(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        timesheet = timekeeping.timesheet_build(
            member=data.get("member") or request.membership,
            period_start=data["period_start"],
            period_end=data["period_end"],
        )
        row = selectors.timesheets_for(request.membership).get(pk=timesheet.pk)
        answer = TimesheetSerializer(row, context={"request": request})
        return Response(answer.data, status=status.HTTP_201_CREATED)


# --- issued documents (D4) ------------------------------------------------------------------


class IssuedDocumentSerializer(serializers.ModelSerializer):
    member = MemberSerializer(read_only=True)
    department = NamedRowSerializer(read_only=True)

    class Meta:
        model = IssuedDocument
        fields = ["id", "member", "department", "kind", "title", "body", "issued_at", "created_at"]
        read_only_fields = fields


class IssuedDocumentInput(serializers.Serializer):
    member = ScopedRowField(lambda m: selectors.members_in_scope(m, "issued_document"), "member")
    kind = serializers.ChoiceField(choices=IssuedDocument.Kind.choices)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000)


class IssuedDocumentListCreateAPI(ListAPIView):
    """GET: the issued documents the member may see (their own; more by scope). POST: issue
    one to a member in the issuer's scope."""

    serializer_class = IssuedDocumentSerializer
    pagination_class = RecordPagination
    required_permission = {"GET": "issued_document.view", "POST": "issued_document.create"}
    required_scopes = token_scopes(read="issued_documents:read", write="issued_documents:write")

    def get_queryset(self):
        return documents.issued_documents_for(self.request.membership)

    @extend_schema(request=IssuedDocumentInput, responses={201: IssuedDocumentSerializer})
    def post(self, request, org_slug: str):
        form = IssuedDocumentInput(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        document = documents.issued_document_create(**form.validated_data)
        row = self.get_queryset().get(pk=document.pk)
        return Response(self.get_serializer(row).data, status=status.HTTP_201_CREATED)


class IssuedDocumentDetailAPI(RetrieveAPIView):
    serializer_class = IssuedDocumentSerializer
    required_permission = "issued_document.view"
    required_scopes = token_scopes(read="issued_documents:read")

    def get_object(self):
        return documents.access_issued_document(self.request.membership, self.kwargs["document_id"])


# --- designations and staff profiles (D1) ---------------------------------------------------


class DesignationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Designation
        fields = ["id", "name", "created_at"]
        read_only_fields = fields


class DesignationInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)

    def validate_name(self, name: str) -> str:
        if people.designations_list().filter(name=name.strip()).exists():
            raise serializers.ValidationError(f"There is already a designation called {name}.")
        return name


class DesignationListCreateAPI(ListAPIView):
    serializer_class = DesignationSerializer
    pagination_class = RecordPagination
    required_permission = {"GET": "designation.view", "POST": "designation.create"}
    required_scopes = token_scopes(read="designations:read", write="designations:write")

    def get_queryset(self):
        return people.designations_list()

    @extend_schema(request=DesignationInput, responses={201: DesignationSerializer})
    def post(self, request, org_slug: str):
        form = DesignationInput(data=request.data)
        form.is_valid(raise_exception=True)
        designation = people.designation_create(**form.validated_data)
        return Response(self.get_serializer(designation).data, status=status.HTTP_201_CREATED)


class StaffProfileSerializer(serializers.ModelSerializer):
    """Bank and national-insurance details are absent (not blanked) unless the context says
    the reader may receive them (``people.may_receive_sensitive``)."""

    member = MemberSerializer(read_only=True)
    designation = NamedRowSerializer(read_only=True, allow_null=True)
    bank_account = serializers.CharField(read_only=True)
    national_insurance = serializers.CharField(read_only=True)

    class Meta:
        model = StaffProfile
        fields = [
            "member",
            "designation",
            "phone",
            "address",
            "annual_leave_days",
            "bank_account",
            "national_insurance",
            "updated_at",
        ]
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        if not self.context.get("sensitive", False):
            for name in people.SENSITIVE_PROFILE_FIELDS:
                fields.pop(name)
        return fields


class StaffProfileInput(serializers.Serializer):
    phone = serializers.RegexField(
        people.PHONE_PATTERN,
        max_length=40,
        allow_blank=True,
        required=False,
        error_messages={"invalid": people.PHONE_INVALID},
    )
    address = serializers.CharField(max_length=1000, allow_blank=True, required=False)
    designation = ScopedRowField(
        lambda m: people.designations_list(), "designation", required=False, allow_null=True
    )
    annual_leave_days = serializers.DecimalField(
        max_digits=5, decimal_places=1, min_value=0, max_value=366, required=False
    )
    bank_account = serializers.CharField(max_length=64, allow_blank=True, required=False)
    national_insurance = serializers.CharField(max_length=20, allow_blank=True, required=False)

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("Give at least one field to change.")
        return data


class StaffProfileAPI(APIView):
    """GET and PATCH ``staff/<membership id>/profile/``. Every member reads and edits their
    own contact and bank details; ``user.view`` reads anyone's, ``user.manage`` edits
    anyone's contact details, designation and leave allowance. Bank and national-insurance
    details go only to the member themselves and to ``pay_rate.view`` holders (E3), and
    another member's are recorded as read (L1). A field the editor may not set is a 400
    naming it; a profile the member may not open is a 404.

    Declared for any member of the organisation (Z1): there is no role permission that means
    "my own profile", so the view itself narrows every other profile to the permissions
    above (``people.members_whose_profiles`` and ``people.profile_fields_settable_by``)."""

    rbac_declaration = Declaration(SIGNED_IN_ONLY)
    required_scopes = token_scopes(read="staff_profiles:read", write="staff_profiles:write")

    def _answer(self, viewer, member, *, record_read: bool) -> Response:
        sensitive = people.may_receive_sensitive(viewer, member)
        profile = people.staff_profile_of(member)
        if sensitive and record_read and viewer.pk != member.pk and profile.pk is not None:
            people.staff_profile_sensitive_read_record(viewer=viewer, member=member)
        return Response(StaffProfileSerializer(profile, context={"sensitive": sensitive}).data)

    @extend_schema(responses=StaffProfileSerializer)
    def get(self, request, org_slug: str, membership_id: int):
        member = people.access_profile_member(request.membership, membership_id)
        return self._answer(request.membership, member, record_read=True)

    @extend_schema(request=StaffProfileInput, responses=StaffProfileSerializer)
    def patch(self, request, org_slug: str, membership_id: int):
        editor = request.membership
        member = people.access_profile_member(editor, membership_id)
        if editor.pk != member.pk and not membership_has(editor, "user.manage"):
            return Response(
                {"detail": "You may not change this member's profile."},
                status=status.HTTP_403_FORBIDDEN,
            )
        form = StaffProfileInput(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        settable = people.profile_fields_settable_by(editor, member)
        refused = sorted(set(form.validated_data) - settable)
        if refused:
            raise serializers.ValidationError(
                {name: ["You may not change this field."] for name in refused}
            )
        people.staff_profile_update(member=member, **form.validated_data)
        return self._answer(editor, member, record_read=False)
