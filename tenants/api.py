from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.generics import ListCreateAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from rbac.permissions import roles_permission
from tenants.invitations import invitation_create, invitation_revoke
from tenants.models import Invitation, Membership
from tenants.services import member_create_with_password
from tokens.scopes import token_scopes

# Interim until the RBAC issue (Z3 ``user.create``): owners and admins manage people.
PeopleManagers = roles_permission("user", "owner", "admin")


class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "expires_at", "created_at"]
        read_only_fields = ["id", "status", "expires_at", "created_at"]

    def get_status(self, invitation: Invitation) -> str:
        if invitation.accepted_at:
            return "accepted"
        if invitation.revoked_at:
            return "revoked"
        return "open" if invitation.is_open else "expired"


class InvitationPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


class InvitationListCreateAPI(ListCreateAPIView):
    """Invitations of this organisation; POST ``{email, role}`` sends one (A2)."""

    serializer_class = InvitationSerializer
    pagination_class = InvitationPagination
    permission_classes = [PeopleManagers]
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
    permission_classes = [PeopleManagers]
    required_scopes = token_scopes(write="invitations:write")

    def delete(self, request, org_slug: str, invitation_id: int):
        invitation_revoke(invitation=get_object_or_404(Invitation.objects, pk=invitation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    temporary_password = serializers.CharField(min_length=12, max_length=200, write_only=True)


class MemberCreateAPI(APIView):
    """Creates an account with an admin-chosen password, to be changed at first sign-in."""

    permission_classes = [PeopleManagers]
    required_scopes = token_scopes(write="members:write")

    def post(self, request, org_slug: str):
        form = MemberCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        membership = member_create_with_password(**form.validated_data)
        return Response(
            {"id": membership.pk, "email": membership.user.email, "role": membership.role},
            status=status.HTTP_201_CREATED,
        )
