"""Role management API (Z2): the organisation's roles, its approval chains (Z6) and the role,
department and client of its members. Thin: shapes are checked here, every rule (no
escalation, the owner role, the last owner, roles in use) is in the services, whose
validation errors are 400s (config.api_errors)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import ERROR_RESPONSES
from rbac import registry
from rbac.models import ApprovalChain, Role
from rbac.role_selectors import access_approval_chain, access_member, access_role, roles_list
from rbac.services import approval_chain_set, role_create, role_delete, role_update
from tenants.models import Membership
from tenants.services import membership_assign, membership_change_role
from tokens.scopes import token_scopes
from workforce.api import RecordPagination
from workforce.models import Client, Department

ROLE_SCOPES = token_scopes(read="roles:read", write="roles:write")
# A change the services refuse (escalation, the owner role, a role in use) is a 400.
CHANGE_ANSWERS = {400: ERROR_RESPONSES[400], 404: ERROR_RESPONSES[404]}


class RoleSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Role
        fields = [
            "key",
            "name",
            "description",
            "permissions",
            "scopes",
            "approval_limits",
            "rank",
            "is_default",
            "time_boxed",
            "member_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RoleInput(serializers.Serializer):
    """The shape of a role; which names, modules and amounts are allowed is the service's."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)
    permissions = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=len(registry.PERMISSIONS)
    )
    scopes = serializers.DictField(child=serializers.CharField(max_length=16), required=False)
    approval_limits = serializers.DictField(
        child=serializers.CharField(max_length=32), required=False
    )


def _role_answer(key: str, status_code: int = status.HTTP_200_OK) -> Response:
    # Read again so the answer carries its member count like the list does.
    return Response(RoleSerializer(access_role(key)).data, status=status_code)


class RoleListAPI(ListAPIView):
    """GET: the organisation's roles, highest ranked first, with their permissions, scopes,
    approval limits and member counts, cursor-paginated like every list. POST ``{name,
    description, permissions, scopes, approval_limits}``: a custom role, with no permission
    the caller's own role lacks."""

    required_permission = {"GET": "role.view", "POST": "role.create"}
    required_scopes = ROLE_SCOPES
    serializer_class = RoleSerializer
    pagination_class = RecordPagination

    def get_queryset(self):
        return roles_list()

    @extend_schema(request=RoleInput, responses={201: RoleSerializer, 400: ERROR_RESPONSES[400]})
    def post(self, request, org_slug: str):
        form = RoleInput(data=request.data)
        form.is_valid(raise_exception=True)
        role = role_create(**form.validated_data, actor_role=request.membership.role_definition)
        return _role_answer(role.key, status.HTTP_201_CREATED)


class RoleDetailAPI(APIView):
    """GET one role; PATCH any of its fields (a change to what it allows signs every holder
    out, A10); DELETE a custom role nobody holds (204)."""

    required_permission = {"GET": "role.view", "PATCH": "role.update", "DELETE": "role.delete"}
    required_scopes = ROLE_SCOPES

    @extend_schema(responses={200: RoleSerializer, 404: ERROR_RESPONSES[404]})
    def get(self, request, org_slug: str, role_key: str):
        return _role_answer(role_key)

    @extend_schema(request=RoleInput, responses={200: RoleSerializer, **CHANGE_ANSWERS})
    def patch(self, request, org_slug: str, role_key: str):
        role = access_role(role_key)
        form = RoleInput(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        role_update(role=role, **form.validated_data, actor_role=request.membership.role_definition)
        return _role_answer(role_key)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted."), **CHANGE_ANSWERS})
    def delete(self, request, org_slug: str, role_key: str):
        role_delete(role=access_role(role_key))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApprovalChainSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalChain
        fields = ["subject", "steps", "updated_at"]
        read_only_fields = fields


class ApprovalChainInput(serializers.Serializer):
    # How many steps and which roles: the service's rules.
    steps = serializers.ListField(
        child=serializers.ListField(child=serializers.SlugField(max_length=40))
    )


class ApprovalChainAPI(APIView):
    """GET the steps of an approvable subject (``leave``, ``expense``, ``timesheet``); PUT
    ``{steps: [["manager", "owner"], ["owner"]]}`` replaces them."""

    required_permission = {"GET": "role.view", "PUT": "role.update"}
    required_scopes = ROLE_SCOPES

    @extend_schema(responses={200: ApprovalChainSerializer, 404: ERROR_RESPONSES[404]})
    def get(self, request, org_slug: str, subject: str):
        return Response(ApprovalChainSerializer(access_approval_chain(subject)).data)

    @extend_schema(
        request=ApprovalChainInput, responses={200: ApprovalChainSerializer, **CHANGE_ANSWERS}
    )
    def put(self, request, org_slug: str, subject: str):
        access_approval_chain(subject)
        form = ApprovalChainInput(data=request.data)
        form.is_valid(raise_exception=True)
        chain = approval_chain_set(subject=subject, steps=form.validated_data["steps"])
        return Response(ApprovalChainSerializer(chain).data)


class MemberAssignmentSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "department", "client", "status"]
        read_only_fields = fields


class MemberUpdateInput(serializers.Serializer):
    role = serializers.SlugField(max_length=40, required=False)
    # Managers, not querysets: the tenant manager builds its query at validation time, inside
    # the request's organisation, so another organisation's ids do not exist here.
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects,
        allow_null=True,
        required=False,
        error_messages={"does_not_exist": "There is no department {pk_value} here."},
    )
    client = serializers.PrimaryKeyRelatedField(
        queryset=Client.objects,
        allow_null=True,
        required=False,
        error_messages={"does_not_exist": "There is no client {pk_value} here."},
    )

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("Give a role, a department or a client.")
        return data


class MemberDetailAPI(APIView):
    """PATCH any of ``{role, department, client}`` of a member. Nobody changes their own role
    or a member ranked above them, or gives a role ranked above their own; the last owner
    stays one. A role change signs the member out everywhere (A10)."""

    required_permission = {"PATCH": "user.manage"}
    required_scopes = token_scopes(write="members:write")

    @extend_schema(
        request=MemberUpdateInput, responses={200: MemberAssignmentSerializer, **CHANGE_ANSWERS}
    )
    def patch(self, request, org_slug: str, membership_id: int):
        membership = access_member(membership_id)
        form = MemberUpdateInput(data=request.data)
        form.is_valid(raise_exception=True)
        changes = form.validated_data
        if "department" in changes or "client" in changes:
            membership_assign(
                membership=membership,
                department=changes.get("department", membership.department),
                client=changes.get("client", membership.client),
                actor=request.membership,
            )
        if "role" in changes:
            membership_change_role(
                membership=membership, role=changes["role"], actor=request.membership
            )
        return Response(MemberAssignmentSerializer(membership).data)
