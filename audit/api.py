from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from audit import merkle, selectors, streaming
from audit.chain import EVENT_FIELDS
from audit.checkpoints import platform_public_key
from audit.exports import FORMATS, MIN_PURPOSE_LENGTH, audit_export_request, export_lines
from audit.models import AuditCheckpoint, AuditEvent, AuditSink
from audit.verification import verify_organization_log
from config.api_errors import ERROR_RESPONSES
from keys.providers import KeyUnavailable
from rbac.fields import ReceivesEveryGuardedField, withheld_changes
from tokens.scopes import token_scopes

# Response bodies of the views below that build their answer by hand, for the schema (D8).
VERIFICATION = inline_serializer(
    "AuditVerification",
    fields={
        "ok": serializers.BooleanField(),
        "events": serializers.IntegerField(),
        "checkpoints_verified": serializers.IntegerField(required=False),
        "latest_checkpoint_size": serializers.IntegerField(required=False, allow_null=True),
        "first_bad_seq": serializers.IntegerField(required=False, allow_null=True),
        "reason": serializers.CharField(allow_null=True),
    },
)
CHECKPOINTS = inline_serializer(
    "AuditCheckpoints",
    fields={
        "signing_public_key": serializers.CharField(),
        "checkpoints": serializers.ListField(child=serializers.DictField()),
    },
)
PROOF = inline_serializer(
    "AuditProof",
    fields={
        "tree_size": serializers.IntegerField(),
        "seq": serializers.IntegerField(required=False),
        "leaf_hash": serializers.CharField(required=False),
        "old_size": serializers.IntegerField(required=False),
        "proof": serializers.ListField(child=serializers.CharField()),
    },
)


class AuditEventSerializer(serializers.ModelSerializer):
    """An event as people read it. Z7: the values of changed fields this reader may not
    receive are left out of ``changes`` and named in ``withheld`` (such an event's ``hmac``
    then covers values the reader does not have; ``/audit/verify/`` checks the chain)."""

    hmac = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()
    withheld = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        # The canonical event: the organisation is the URL's, and the key version is chain
        # internals.
        fields = [
            *(name for name in EVENT_FIELDS if name not in {"organization", "key_version"}),
            "hmac",
            "withheld",
        ]
        read_only_fields = fields

    def get_hmac(self, event: AuditEvent) -> str:
        return bytes(event.hmac).hex()

    def _withheld(self, event: AuditEvent) -> frozenset[str]:
        # Once per kind of record a page holds, not twice per event (changes and withheld).
        by_type = self.__dict__.setdefault("_withheld_by_type", {})
        if event.entity_type not in by_type:
            by_type[event.entity_type] = withheld_changes(
                self.context["request"], event.entity_type
            )
        return by_type[event.entity_type]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_changes(self, event: AuditEvent) -> dict:
        withheld = self._withheld(event)
        return {name: change for name, change in event.changes.items() if name not in withheld}

    def get_withheld(self, event: AuditEvent) -> list[str]:
        return sorted(self._withheld(event) & event.changes.keys())


class EventPagination(CursorPagination):
    ordering = ("seq",)
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"


class AuditEventListAPI(ListAPIView):
    """The organisation's audit log, oldest first; filter by ``action`` or ``entity_type``."""

    serializer_class = AuditEventSerializer
    pagination_class = EventPagination
    required_permission = "audit_log.view"
    required_scopes = token_scopes(read="audit_log:read")

    def get_queryset(self):
        queryset = selectors.events()
        if action := self.request.query_params.get("action"):
            queryset = queryset.filter(action=action)
        if entity_type := self.request.query_params.get("entity_type"):
            queryset = queryset.filter(entity_type=entity_type)
        return queryset


class RoleChangeTrailAPI(AuditEventListAPI):
    def get_queryset(self):
        return selectors.role_change_trail()


class GuestAccessTrailAPI(AuditEventListAPI):
    def get_queryset(self):
        return selectors.guest_access_trail()


class EntityTimelineAPI(AuditEventListAPI):
    """Every event about one record (L5): ``/audit/timeline/workforce.site/42/``."""

    def get_queryset(self):
        return selectors.entity_timeline(self.kwargs["entity_type"], self.kwargs["entity_id"])


class AuditVerifyAPI(APIView):
    """Walks the organisation's whole log now: OK, or the first bad event and why (L3)."""

    required_permission = "audit_log.view"
    required_scopes = token_scopes(read="audit_log:read")

    @extend_schema(responses=VERIFICATION)
    def get(self, request, org_slug: str):
        try:
            result = verify_organization_log()
        except KeyUnavailable as error:
            return Response({"ok": False, "events": 0, "reason": str(error)})
        return Response(
            {
                "ok": result.ok,
                "events": result.events,
                "checkpoints_verified": result.checkpoints_verified,
                "latest_checkpoint_size": result.latest_tree_size,
                "first_bad_seq": result.first_bad_seq,
                "reason": result.reason,
            }
        )


class CheckpointListAPI(APIView):
    """Every signed checkpoint (L9), for the organisation to download and keep, with the
    platform public key that verifies them."""

    required_permission = "audit_log.view"
    required_scopes = token_scopes(read="audit_log:read")

    @extend_schema(responses=CHECKPOINTS)
    def get(self, request, org_slug: str):
        return Response(
            {
                "signing_public_key": platform_public_key(),
                "checkpoints": [c.document for c in AuditCheckpoint.objects.order_by("tree_size")],
            }
        )


class ProofQuery(serializers.Serializer):
    seq = serializers.IntegerField(min_value=1, required=False)
    old_size = serializers.IntegerField(min_value=1, required=False)
    tree_size = serializers.IntegerField(min_value=1)


class AuditProofAPI(APIView):
    """RFC 9162 proofs against a signed checkpoint: ``?seq=&tree_size=`` for inclusion,
    ``?old_size=&tree_size=`` for consistency between two checkpoints."""

    required_permission = "audit_log.view"
    required_scopes = token_scopes(read="audit_log:read")

    @extend_schema(parameters=[ProofQuery], responses={200: PROOF, 400: ERROR_RESPONSES[400]})
    def get(self, request, org_slug: str):
        query = ProofQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        tree_size = values["tree_size"]
        if not AuditCheckpoint.objects.filter(tree_size=tree_size).exists():
            raise ValidationError({"tree_size": "No signed checkpoint has this size."})
        leaves = selectors.leaf_hashes(tree_size)
        if "seq" in values and values["seq"] <= tree_size:
            proof = merkle.inclusion_proof(leaves, values["seq"] - 1, tree_size)
            kind = {"seq": values["seq"], "leaf_hash": leaves[values["seq"] - 1].hex()}
        elif "old_size" in values and values["old_size"] <= tree_size:
            proof = merkle.consistency_proof(leaves, values["old_size"], tree_size)
            kind = {"old_size": values["old_size"]}
        else:
            raise ValidationError("Give seq or old_size, at most tree_size.")
        return Response({"tree_size": tree_size, **kind, "proof": [h.hex() for h in proof]})


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=sorted(FORMATS))
    purpose = serializers.CharField(min_length=MIN_PURPOSE_LENGTH, max_length=500)


class AuditExportAPI(APIView):
    """POST ``{format, purpose}``: the export streams back; the request is itself an audit
    event (L6)."""

    required_permission = "audit_log.export"
    required_scopes = token_scopes(write="audit_log:export")
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, ReceivesEveryGuardedField]

    @extend_schema(
        request=ExportRequestSerializer,
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            400: ERROR_RESPONSES[400],
        },
    )
    def post(self, request, org_slug: str):
        form = ExportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        export = audit_export_request(
            file_format=form.validated_data["format"], purpose=form.validated_data["purpose"]
        )
        response = StreamingHttpResponse(
            export_lines(export), content_type=FORMATS[export.file_format]
        )
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


# L8: streaming settings are as sensitive as the log they send out.


class AuditSinkSerializer(serializers.ModelSerializer):
    """A sink and its delivery status. Never the secret."""

    url = serializers.CharField(read_only=True)
    pending_events = serializers.SerializerMethodField()

    class Meta:
        model = AuditSink
        fields = [
            "id",
            "name",
            "url",
            "active",
            "created_at",
            "status",
            "last_delivered_seq",
            "pending_events",
            "consecutive_failures",
            "last_attempt_at",
            "last_success_at",
            "next_attempt_at",
            "last_error",
        ]
        read_only_fields = fields

    def get_pending_events(self, sink: AuditSink) -> int:
        if not sink.active:
            return 0
        return max(self.context["latest_seq"] - sink.last_delivered_seq, 0)


class AuditSinkCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=streaming.MAX_URL_LENGTH)


class SinkPagination(CursorPagination):
    ordering = ("-id",)
    page_size = 50


class AuditSinkListAPI(ListAPIView):
    """GET: the organisation's sinks with their delivery status. POST ``{name, url}``: a new
    sink; the answer holds its signing secret, shown this once."""

    serializer_class = AuditSinkSerializer
    pagination_class = SinkPagination
    required_permission = "audit_log.manage"
    required_scopes = token_scopes(read="audit_sinks:read", write="audit_sinks:write")
    # A new sink receives every event from now on, whole.
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, ReceivesEveryGuardedField]

    def get_queryset(self):
        return streaming.sinks()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "latest_seq": streaming.latest_seq()}

    def post(self, request, org_slug: str):
        form = AuditSinkCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        sink, secret = streaming.audit_sink_create(**form.validated_data)
        body = self.get_serializer(sink).data
        return Response({**body, "secret": secret}, status=status.HTTP_201_CREATED)


class AuditSinkDetailAPI(APIView):
    """GET: one sink and its delivery status. DELETE: stop streaming to it."""

    required_permission = "audit_log.manage"
    required_scopes = token_scopes(read="audit_sinks:read", write="audit_sinks:write")

    @extend_schema(responses={200: AuditSinkSerializer, 404: ERROR_RESPONSES[404]})
    def get(self, request, org_slug: str, sink_id: int):
        sink = streaming.access_sink(sink_id)
        context = {"latest_seq": streaming.latest_seq()}
        return Response(AuditSinkSerializer(sink, context=context).data)

    @extend_schema(
        responses={204: OpenApiResponse(description="Removed."), 404: ERROR_RESPONSES[404]}
    )
    def delete(self, request, org_slug: str, sink_id: int):
        streaming.audit_sink_deactivate(sink=streaming.access_sink(sink_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
