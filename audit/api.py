from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination

from audit import selectors
from audit.models import AuditEvent
from rbac.permissions import roles_permission

# Interim until the RBAC issue (Z3 ``audit_log.view``): owners and admins read the log.
AuditLogReaders = roles_permission("audit_log", "owner", "admin")


class AuditEventSerializer(serializers.ModelSerializer):
    hmac = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "occurred_at",
            "actor_type",
            "actor_id",
            "actor_label",
            "actor_role",
            "action",
            "entity_type",
            "entity_id",
            "changes",
            "ip",
            "user_agent",
            "request_id",
            "hmac",
        ]
        read_only_fields = fields

    def get_hmac(self, event: AuditEvent) -> str:
        return bytes(event.hmac).hex()


class EventPagination(CursorPagination):
    ordering = ("seq",)
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"


class AuditEventListAPI(ListAPIView):
    """The organisation's audit log, oldest first; filter by ``action`` or ``entity_type``."""

    serializer_class = AuditEventSerializer
    pagination_class = EventPagination
    permission_classes = [AuditLogReaders]

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
