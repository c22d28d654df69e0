from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListCreateAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.second_factors.selectors import has_second_factor
from accounts.sign_in import recently_verified
from config.api_errors import ERROR_RESPONSES
from config.network import client_ip
from tenants import ip_allowlist
from tenants.invitations import invitation_create, invitation_revoke
from tenants.models import Invitation, IpAllowlistEntry
from tenants.services import member_create_with_password
from tokens.scopes import token_scopes

DELETED = OpenApiResponse(description="Done.")

# Z3: people (invitations, members) are managed with ``user.manage`` (owners, admins).


class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=Invitation.STATUSES, read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "expires_at", "created_at"]
        read_only_fields = ["id", "status", "expires_at", "created_at"]


class InvitationPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


class InvitationListCreateAPI(ListCreateAPIView):
    """Invitations of this organisation; POST ``{email, role}`` sends one (A2)."""

    serializer_class = InvitationSerializer
    pagination_class = InvitationPagination
    required_permission = "user.manage"
    required_scopes = token_scopes(read="invitations:read", write="invitations:write")

    def get_queryset(self):
        return Invitation.objects.order_by("-created_at", "-id")

    def perform_create(self, serializer):
        issued = invitation_create(
            email=serializer.validated_data["email"],
            role=serializer.validated_data["role"],
            invited_by=self.request.user,
        )
        serializer.instance = issued.invitation


class InvitationRevokeAPI(APIView):
    required_permission = "user.manage"
    required_scopes = token_scopes(write="invitations:write")

    @extend_schema(responses={204: DELETED, 404: ERROR_RESPONSES[404]})
    def delete(self, request, org_slug: str, invitation_id: int):
        invitation_revoke(invitation=get_object_or_404(Invitation.objects, pk=invitation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.SlugField(max_length=40)  # a role key; the service checks it exists
    temporary_password = serializers.CharField(min_length=12, max_length=200, write_only=True)


class MemberCreateAPI(APIView):
    """Creates an account with an admin-chosen password, to be changed at first sign-in."""

    required_permission = "user.manage"
    required_scopes = token_scopes(write="members:write")

    @extend_schema(
        request=MemberCreateSerializer,
        responses={
            201: inline_serializer(
                "MemberCreated",
                fields={
                    "id": serializers.IntegerField(),
                    "email": serializers.EmailField(),
                    "role": serializers.CharField(),
                },
            ),
            400: ERROR_RESPONSES[400],
        },
    )
    def post(self, request, org_slug: str):
        form = MemberCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        membership = member_create_with_password(**form.validated_data, actor=request.membership)
        return Response(
            {"id": membership.pk, "email": membership.user.email, "role": membership.role},
            status=status.HTTP_201_CREATED,
        )


# A12: owners and admins manage the allowlist; only owners may break the glass.


class IpAllowlistEntrySerializer(serializers.ModelSerializer):
    cidr = serializers.CharField()  # a PostgreSQL cidr, as text ("10.0.0.0/8")
    created_by = serializers.EmailField(source="created_by.email", default=None)

    class Meta:
        model = IpAllowlistEntry
        fields = ["id", "cidr", "label", "created_by", "created_at"]
        read_only_fields = fields


class IpAllowlistEntryInput(serializers.Serializer):
    cidr = serializers.CharField(max_length=ip_allowlist.MAX_CIDR_LENGTH)
    label = serializers.CharField(max_length=100, allow_blank=True, default="")


class IpAllowlistAddInput(IpAllowlistEntryInput):
    confirm_broad = serializers.BooleanField(default=False)


class IpAllowlistReplaceInput(serializers.Serializer):
    entries = serializers.ListField(
        child=IpAllowlistEntryInput(), max_length=ip_allowlist.MAX_ENTRIES, allow_empty=True
    )
    confirm_broad = serializers.BooleanField(default=False)


class BreakGlassInput(serializers.Serializer):
    reason = serializers.CharField(max_length=ip_allowlist.MAX_REASON_LENGTH)


class IpAllowlistStateSerializer(serializers.Serializer):
    """What every allowlist endpoint answers (described for the schema)."""

    enforced = serializers.BooleanField()
    suspended_at = serializers.DateTimeField(allow_null=True)
    your_ip = serializers.CharField()
    entries = IpAllowlistEntrySerializer(many=True)


ALLOWLIST_REFUSALS = {400: ERROR_RESPONSES[400], 403: ERROR_RESPONSES[403]}


def _allowlist_state(request) -> dict:
    policy = ip_allowlist.security_policy()
    entries = ip_allowlist.ip_allowlist_entries()
    return {
        "enforced": policy.ip_allowlist_suspended_at is None and entries.exists(),
        "suspended_at": policy.ip_allowlist_suspended_at,
        "your_ip": client_ip(request),
        "entries": IpAllowlistEntrySerializer(entries, many=True).data,
    }


class IpAllowlistAPI(APIView):
    """The organisation's IP allowlist (A12). GET: state and entries; POST ``{cidr, label,
    confirm_broad}`` adds one; PUT ``{entries: [{cidr, label}], confirm_broad}`` replaces the
    list (``[]`` lifts the restriction). Changes that would lock the caller out are 400s."""

    required_permission = {
        "GET": "settings.view",
        "POST": "settings.manage",
        "PUT": "settings.manage",
    }
    required_scopes = token_scopes(read="ip_allowlist:read", write="ip_allowlist:write")

    @extend_schema(responses=IpAllowlistStateSerializer)
    def get(self, request, org_slug: str):
        return Response(_allowlist_state(request))

    @extend_schema(
        request=IpAllowlistAddInput,
        responses={201: IpAllowlistEntrySerializer, **ALLOWLIST_REFUSALS},
    )
    def post(self, request, org_slug: str):
        form = IpAllowlistAddInput(data=request.data)
        form.is_valid(raise_exception=True)
        entry = ip_allowlist.ip_allowlist_add(
            **form.validated_data, created_by=request.user, actor_ip=client_ip(request)
        )
        return Response(IpAllowlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=IpAllowlistReplaceInput,
        responses={200: IpAllowlistStateSerializer, **ALLOWLIST_REFUSALS},
    )
    def put(self, request, org_slug: str):
        form = IpAllowlistReplaceInput(data=request.data)
        form.is_valid(raise_exception=True)
        ip_allowlist.ip_allowlist_replace(
            entries=[ip_allowlist.EntryInput(**entry) for entry in form.validated_data["entries"]],
            confirm_broad=form.validated_data["confirm_broad"],
            created_by=request.user,
            actor_ip=client_ip(request),
        )
        return Response(_allowlist_state(request))


class IpAllowlistEntryAPI(APIView):
    required_permission = "settings.manage"
    required_scopes = token_scopes(write="ip_allowlist:write")

    @extend_schema(responses={204: DELETED, **ALLOWLIST_REFUSALS, 404: ERROR_RESPONSES[404]})
    def delete(self, request, org_slug: str, entry_id: int):
        entry = ip_allowlist.access_ip_allowlist_entry(entry_id)
        ip_allowlist.ip_allowlist_remove(entry=entry, actor_ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class IpAllowlistResumeAPI(APIView):
    """POST: enforces a suspended allowlist again (the caller must be inside it)."""

    required_permission = "settings.manage"
    required_scopes = token_scopes(write="ip_allowlist:write")

    @extend_schema(request=None, responses={200: IpAllowlistStateSerializer, **ALLOWLIST_REFUSALS})
    def post(self, request, org_slug: str):
        ip_allowlist.ip_allowlist_resume(actor_ip=client_ip(request))
        return Response(_allowlist_state(request))


class IpAllowlistBreakGlassAPI(APIView):
    """POST ``{reason}``: an owner suspends the allowlist, even from outside it (the tenant
    middleware lets an owner's POST here through). Owners with a second factor must have
    verified it recently, so a stolen session alone cannot do it."""

    # Owners only: no other default role holds organization.manage (A12).
    required_permission = "organization.manage"

    @extend_schema(
        request=BreakGlassInput,
        responses={200: IpAllowlistStateSerializer, **ALLOWLIST_REFUSALS},
    )
    def post(self, request, org_slug: str):
        if has_second_factor(request.user) and not recently_verified(request):
            return Response(
                {
                    "detail": "Verify your second factor again first.",
                    "code": "step_up_required",
                    "redirect": reverse("security-step-up"),
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        form = BreakGlassInput(data=request.data)
        form.is_valid(raise_exception=True)
        ip_allowlist.ip_allowlist_break_glass(
            reason=form.validated_data["reason"], actor=request.user, actor_ip=client_ip(request)
        )
        return Response(_allowlist_state(request))
