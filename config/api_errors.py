"""One place where domain exceptions become HTTP answers (STYLE: thin views), so a service's
validation error is a 400 with field messages, never a 500.

The API's error format (D8), the same for every 4xx, whichever layer answers (the tenant,
token, session and rate-limit middleware, the declared-permission check, DRF, the URL
resolver) — DRF's own two shapes, kept as the documented format:

- an error about the request as a whole: ``{"detail": "<message>"}``, sometimes with a
  machine-readable ``"code"`` (``rate_limited``, ``insufficient_scope``, ``session_ended``,
  ``second_factor_required``...). 401, 403, 404, 405, 409, 412, 415, 429 and body parse errors;
- invalid input (400): ``{"<field>": ["<message>", ...], "non_field_errors": [...]}``, one
  key per field at fault (a query parameter counts as a field).

Clients tell them apart by the status code (400 with field keys, anything else with
``detail``). A 500 from the API is JSON too (``{"detail": ...}``), without internals.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import JsonResponse
from django.views.defaults import page_not_found, server_error
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from rbac.approvals import ApprovalConflict
from workforce.services import RecordDecided, StaleRecord


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "This record has changed since you read it."
    default_code = "precondition_failed"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This change conflicts with the record's current state."
    default_code = "conflict"


def _detail(error: DjangoValidationError) -> dict[str, list[str]]:
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
    return {
        api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
        for field, messages in error.message_dict.items()
    }


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(_detail(exc))
    elif isinstance(exc, StaleRecord):
        exc = PreconditionFailed(str(exc))
    elif isinstance(exc, RecordDecided | ApprovalConflict):
        exc = Conflict(str(exc))
    elif isinstance(exc, ObjectDoesNotExist):
        exc = NotFound()
    elif isinstance(exc, IntegrityError):
        # A race two requests lost together (a unique row taken meanwhile): the service's
        # savepoint is rolled back, and the client can retry on fresh data.
        exc = Conflict("This change clashes with another one made at the same time. Try again.")
    return drf_exception_handler(exc, context)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """``handler404`` of the portal URLconf: an unknown API path answers in the API's
    format; pages keep Django's page."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_failure(request):
    """``handler500``: never a traceback or an HTML page to an API client."""
    if _is_api(request):
        return JsonResponse({"detail": "Something went wrong on our side."}, status=500)
    return server_error(request)


# For the OpenAPI schema: the two shapes above, referenced by the endpoints' error answers.
class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class ValidationErrorSerializer(serializers.Serializer):
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        ref_name = "ValidationError"


_WHOLE = OpenApiResponse(ErrorSerializer)
ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(
        ValidationErrorSerializer,
        description="Invalid input: a list of messages per field (or non_field_errors).",
    ),
    403: _WHOLE,
    404: _WHOLE,
    409: OpenApiResponse(
        ErrorSerializer,
        description="The record is no longer in a state "
        "that allows this change (for instance already approved).",
    ),
    412: OpenApiResponse(
        ErrorSerializer, description="If-Match names a version that is no longer current."
    ),
}
