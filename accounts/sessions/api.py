"""Session API (A10): a user's own sessions, and the organisation-wide sign-out."""

from __future__ import annotations

from django.contrib.auth import logout
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import UserSession
from accounts.sessions import services
from accounts.sessions.selectors import access_own_session, open_sessions_of
from accounts.sessions.store import RECORD_ID
from config.api_errors import ERROR_RESPONSES
from rbac.permissions import signed_in_only


class UserSessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = UserSession
        fields = ["id", "device", "ip", "signed_in_at", "last_seen_at", "current"]
        read_only_fields = fields

    def get_current(self, record: UserSession) -> bool:
        return record.pk == self.context["request"].session.get(RECORD_ID)


SESSIONS_ENDED = inline_serializer(
    "SessionsEnded", fields={"sessions_ended": serializers.IntegerField()}
)


@signed_in_only
class SessionListAPI(APIView):
    """GET: the caller's open sessions. Any signed-in user, their own only."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UserSessionSerializer(many=True))
    def get(self, request):
        sessions = open_sessions_of(request.user)
        return Response(
            UserSessionSerializer(sessions, many=True, context={"request": request}).data
        )


@signed_in_only
class SessionDetailAPI(APIView):
    """DELETE: ends one of the caller's sessions (the current one: signs out). Any signed-in
    user; another user's session is a 404."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={204: OpenApiResponse(description="Ended."), 404: ERROR_RESPONSES[404]}
    )
    def delete(self, request, session_id: int):
        record = access_own_session(request.user, session_id)
        if record.pk == request.session.get(RECORD_ID):
            logout(request)
        else:
            services.user_session_end(record=record)
        return Response(status=204)


@signed_in_only
class SessionEndOthersAPI(APIView):
    """POST: ends every session of the caller but this one. Any signed-in user."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=SESSIONS_ENDED)
    def post(self, request):
        ended = services.user_sessions_revoke(
            user=request.user, reason=UserSession.EndReason.ENDED_BY_USER, keep_current=True
        )
        return Response({"sessions_ended": ended})


class OrganizationSignOutAPI(APIView):
    """POST: signs every member of the organisation out of every session but the caller's
    current one (A10). The organisation's owners and admins only."""

    permission_classes = [IsAuthenticated]
    required_permission = "session.manage"

    @extend_schema(request=None, responses={200: SESSIONS_ENDED, 403: ERROR_RESPONSES[403]})
    def post(self, request, org_slug: str):
        return Response({"sessions_ended": services.organization_sign_everyone_out()})
