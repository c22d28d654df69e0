"""API tokens of an organisation (A17) and token mode for SPA and mobile clients (A8)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.second_factors.selectors import Method, has_second_factor, methods_for
from accounts.second_factors.services import (
    SIGN_IN,
    CodeRefused,
    email_code_send,
    second_factor_verify,
)
from accounts.second_factors.verification import CODE_METHODS, MAX_CODE_LENGTH, masked_email
from config.api_errors import ERROR_RESPONSES
from config.network import client_ip
from rbac.permissions import public
from tenants.ip_allowlist import SIGN_IN_REFUSED, sign_in_network_refused
from tokens import selectors
from tokens.models import ApiToken
from tokens.scopes import SCOPES
from tokens.services.api_tokens import api_token_create, api_token_revoke
from tokens.services.token_mode import (
    RefreshRefused,
    TokenPair,
    refresh_token_rotate,
    token_mode_sign_in,
    token_mode_sign_out,
)

# A8: HttpOnly (no script reads it), Secure in production, SameSite=Strict (no other site's
# page can make the browser send it) and only sent to the token endpoints.
REFRESH_COOKIE = "__Secure-palisade_refresh" if settings.IS_PRODUCTION else "palisade_refresh"
REFRESH_COOKIE_PATH = "/api/v1/auth/"


class ApiTokenSerializer(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "owner",
            "scopes",
            "hint",
            "status",
            "created_at",
            "expires_at",
            "last_used_at",
            "last_used_ip",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_owner(self, api_token: ApiToken) -> dict:
        return {"id": api_token.owner_id, "email": api_token.owner.email}

    def get_status(self, api_token: ApiToken) -> str:
        return api_token.status(self.context["now"])


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(SCOPES)), min_length=1, max_length=50
    )
    expires_at = serializers.DateTimeField()


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    """The answer to a new token (described for the schema): the token, shown this once."""

    token = serializers.CharField()

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


ACCESS_TOKEN = inline_serializer(
    "AccessToken",
    fields={
        "access": serializers.CharField(),
        "token_type": serializers.CharField(),
        "expires_in": serializers.IntegerField(),
    },
)
TOKEN_REFUSED = OpenApiResponse(
    inline_serializer(
        "TokenRefused",
        fields={
            "detail": serializers.CharField(),
            "code": serializers.CharField(),
            "methods": serializers.ListField(child=serializers.CharField(), required=False),
        },
    ),
    description="Refused; the refresh cookie is cleared.",
)


class ApiTokenPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


class ApiTokenListAPI(APIView):
    """GET: the caller's API tokens; for the organisation's owners, every token of the
    organisation (the inventory). POST ``{name, scopes, expires_at}``: a new token acting as
    the caller; the answer holds the token, shown this once. Sessions and token-mode access
    tokens only: an API token cannot list or mint tokens (it declares no scope)."""

    permission_classes = [IsAuthenticated]
    required_permission = {"GET": "api_token.view", "POST": "api_token.create"}

    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request, org_slug: str):
        paginator = ApiTokenPagination()
        page = paginator.paginate_queryset(
            selectors.api_tokens_visible_to(request.membership), request, view=self
        )
        context = {"now": timezone.now()}
        return paginator.get_paginated_response(
            ApiTokenSerializer(page, many=True, context=context).data
        )

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenIssuedSerializer, 400: ERROR_RESPONSES[400]},
    )
    def post(self, request, org_slug: str):
        form = ApiTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        issued = api_token_create(
            owner=request.user,
            second_factor_verified=request.user.is_verified(),
            **form.validated_data,
        )
        body = ApiTokenSerializer(issued.api_token, context={"now": timezone.now()}).data
        return Response({**body, "token": issued.token}, status=status.HTTP_201_CREATED)


class ApiTokenDetailAPI(APIView):
    """DELETE: revokes a token: the caller's own, or any of the organisation's for its
    owners. Another member's token is a 404."""

    permission_classes = [IsAuthenticated]
    required_permission = "api_token.delete"

    @extend_schema(
        responses={204: OpenApiResponse(description="Revoked."), 404: ERROR_RESPONSES[404]}
    )
    def delete(self, request, org_slug: str, token_id: int):
        api_token = selectors.access_api_token(request.membership, token_id)
        api_token_revoke(api_token=api_token, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenSignInSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)
    method = serializers.CharField(max_length=32, required=False, default="")
    code = serializers.CharField(max_length=MAX_CODE_LENGTH, required=False, default="")


def _with_tokens(pair: TokenPair, status_code: int = status.HTTP_200_OK) -> Response:
    response = Response(
        {"access": pair.access, "token_type": "Bearer", "expires_in": pair.expires_in},
        status=status_code,
    )
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh,
        max_age=max(int((pair.refresh_expires_at - timezone.now()).total_seconds()), 0),
        path=REFRESH_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    response["Cache-Control"] = "no-store"
    return response


def _refused(detail: str, code: str, status_code: int = 401, **extra) -> Response:
    response = Response({"detail": detail, "code": code, **extra}, status=status_code)
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, samesite="Strict")
    return response


@public
class TokenSignInAPI(APIView):
    """POST ``{email, password}`` (and ``method`` and ``code`` when the person has a second
    factor: ``totp``, ``email`` or ``recovery_code``; ``method: email_send`` mails a code
    first). Answers a 60-second access token and sets the refresh cookie (A8).

    The same checks as the sign-in pages (``accounts.views``): Django's authentication (the
    hasher runs for unknown emails too), the second factor through
    ``accounts.second_factors.services`` with its per-device back-off, and every failure
    audited. Passkeys need the browser's ceremony and are not offered here."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenSignInSerializer,
        responses={
            200: ACCESS_TOKEN,
            202: OpenApiResponse(description="A code was emailed; send it as ``code``."),
            400: ERROR_RESPONSES[400],
            401: TOKEN_REFUSED,
            403: TOKEN_REFUSED,
        },
    )
    def post(self, request):
        form = TokenSignInSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        values = form.validated_data
        user = authenticate(request._request, username=values["email"], password=values["password"])
        if user is None:
            return _refused("Your email or password is not right.", "invalid_credentials")
        if user.must_change_password:
            return _refused(
                "Change your password in the portal first.", "password_change_required", 403
            )
        if not has_second_factor(user):
            return self._signed_in(request, user)
        offered = [m for m in CODE_METHODS if m in methods_for(user)]
        method = values["method"]
        try:
            if method == "email_send" and Method.EMAIL in offered:
                email_code_send(user=user)
                return Response(
                    {"detail": f"We sent a code to {masked_email(user.email)}."},
                    status=status.HTTP_202_ACCEPTED,
                )
            if method not in offered:
                return _refused(
                    "Give a second factor.", "second_factor_required", methods=list(offered)
                )
            second_factor_verify(
                user=user, method=Method(method), code=values["code"], purpose=SIGN_IN
            )
        except CodeRefused as refused:
            return _refused(str(refused), "second_factor_refused")
        return self._signed_in(request, user, second_factor=method)

    @staticmethod
    def _signed_in(request, user, second_factor: str = "") -> Response:
        # A12: the sign-in pages' network rule, checked once every factor has passed.
        if sign_in_network_refused(user=user, ip=client_ip(request)):
            return _refused(SIGN_IN_REFUSED, "network_refused", status.HTTP_403_FORBIDDEN)
        return _with_tokens(token_mode_sign_in(user=user, second_factor=second_factor))


@public
class TokenRefreshAPI(APIView):
    """POST with the refresh cookie: a new access token and a new refresh cookie; the
    presented refresh token is spent (A8). A spent one presented again revokes its family."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={200: ACCESS_TOKEN, 401: TOKEN_REFUSED})
    def post(self, request):
        try:
            pair = refresh_token_rotate(raw=request.COOKIES.get(REFRESH_COOKIE, ""))
        except RefreshRefused as refused:
            return _refused("Please sign in again.", f"refresh_{refused.reason}")
        return _with_tokens(pair)


@public
class TokenSignOutAPI(APIView):
    """POST with the refresh cookie: ends its family (access tokens lapse within 60 s)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Signed out.")})
    def post(self, request):
        token_mode_sign_out(raw=request.COOKIES.get(REFRESH_COOKIE, ""))
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, samesite="Strict")
        return response
