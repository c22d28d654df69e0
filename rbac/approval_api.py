"""Approvals over the API (Z6) and object grants of documents (Z9).

The permission an approval endpoint needs depends on its subject (``leave.approve``,
``expense.approve``, ...), and declarations are read from the view class before the view
runs (Z1), so each subject gets its own small classes, made by ``approval_views``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import ERROR_RESPONSES
from rbac import approvals, grants
from rbac.fields import FieldSeparationMixin, receives
from tokens.scopes import token_scopes
from workforce.models import Document


def _approver(step) -> dict:
    return {
        "membership_id": step.approver_id,
        "user_id": step.approver.user_id,
        "email": step.approver.user.email,
        "role": step.approver.role,
    }


# Z7: the rule guarding a subject's amount, as its serializer guards it (a timesheet's amount
# is pay: ``workforce.api.TimesheetSerializer``); an expense's amount is not guarded.
AMOUNT_RULES = {"timesheet": "pay_rate"}


def _amount_received(request, record) -> bool:
    rule = AMOUNT_RULES.get(approvals.SUBJECT_OF[type(record)])
    if rule is None:
        return True
    return receives(request, rule, own_row=record.member_id == request.membership.pk)


def _approval_state(record, progress: approvals.Progress, request) -> dict:
    """The record's chain (steps are 0-based), the steps taken and by whom, and whether the
    requesting member may decide the next one (and if not, why). A guarded amount is absent
    for members who may not receive it."""
    membership = request.membership
    pending = record.status == record.Status.PENDING
    yours = (
        approvals.approval_decide(record=record, approver=membership, progress=progress)
        if pending
        else None
    )
    amount = getattr(record, "amount", None)
    state = {
        "subject": approvals.SUBJECT_OF[type(record)],
        "id": record.pk,
        "status": record.status,
        "amount": None if amount is None else str(amount),
        "chain": progress.chain,
        "steps": [
            {"step": step.step, "approver": _approver(step), "decided_at": step.decided_at}
            for step in progress.taken
        ],
        "next_step": progress.next_step if pending else None,
        "your_decision": None
        if yours is None
        else {"allowed": yours.allowed, "reason": yours.reason, "detail": yours.message},
    }
    if not _amount_received(request, record):
        del state["amount"]
    return state


# For the schema: the answer ``_approval_state`` builds.
APPROVAL_STATE = inline_serializer(
    "ApprovalState",
    fields={
        "subject": serializers.ChoiceField(choices=sorted(approvals.APPROVABLE)),
        "id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "amount": serializers.DecimalField(
            max_digits=12,
            decimal_places=2,
            coerce_to_string=True,
            allow_null=True,
            required=False,
            help_text="Absent for members who may not receive it (a timesheet's pay, Z7).",
        ),
        "chain": serializers.ListField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="The steps in order (0-based), each the role keys that may decide it.",
        ),
        "steps": serializers.ListField(
            child=inline_serializer(
                "ApprovalStepTaken",
                fields={
                    "step": serializers.IntegerField(),
                    "approver": inline_serializer(
                        "Approver",
                        fields={
                            "membership_id": serializers.IntegerField(),
                            "user_id": serializers.IntegerField(),
                            "email": serializers.EmailField(),
                            "role": serializers.CharField(),
                        },
                    ),
                    "decided_at": serializers.DateTimeField(),
                },
            )
        ),
        "next_step": serializers.IntegerField(allow_null=True),
        "your_decision": inline_serializer(
            "YourDecision",
            fields={
                "allowed": serializers.BooleanField(),
                "reason": serializers.CharField(),
                "detail": serializers.CharField(),
            },
            allow_null=True,
            help_text="Whether you may decide the next step and, if not, why; "
            "null once the record is decided.",
        ),
    },
)
APPROVAL_REFUSAL = inline_serializer(
    "ApprovalRefusal",
    fields={
        "detail": serializers.CharField(),
        "reason": serializers.CharField(
            required=False,
            help_text="Which rule refused (absent when the role lacks the permission).",
        ),
    },
)


class ApprovalRecordAPI(APIView):
    """GET: where a record stands in its approval chain."""

    subject = ""

    @extend_schema(responses={200: APPROVAL_STATE, 404: ERROR_RESPONSES[404]})
    def get(self, request, org_slug: str, record_id: int):
        record = approvals.access_approvable(self.subject, request.membership, record_id)
        progress = approvals.approval_progress(record)
        return Response(_approval_state(record, progress, request))


class ApprovalDecisionAPI(APIView):
    """POST: approve (the next step) or reject a record. A refusal by the rules is a 403
    with the rule's ``reason``; a record no longer pending is a 409."""

    subject = ""
    verdict = ""  # approvals.APPROVE or approvals.REJECT, given to as_view()

    @extend_schema(
        request=None,
        responses={
            200: APPROVAL_STATE,
            403: OpenApiResponse(
                APPROVAL_REFUSAL,
                description="Refused: by the role, or by a rule of the chain (Z6).",
            ),
            404: ERROR_RESPONSES[404],
            409: OpenApiResponse(APPROVAL_REFUSAL, description="The record is no longer pending."),
        },
    )
    def post(self, request, org_slug: str, record_id: int):
        record = approvals.access_approvable(self.subject, request.membership, record_id)
        decide = approvals.DECISIONS[self.verdict]
        try:
            decide(record=record, approver=request.membership, request=request)
        except approvals.ApprovalDenied as denied:
            return Response(
                {"detail": denied.decision.message, "reason": denied.decision.reason},
                status=status.HTTP_403_FORBIDDEN,
            )
        except approvals.ApprovalConflict as conflict:
            return Response(
                {"detail": str(conflict), "reason": conflict.reason},
                status=status.HTTP_409_CONFLICT,
            )
        record.refresh_from_db(fields=["status"])
        progress = approvals.approval_progress(record)
        return Response(_approval_state(record, progress, request))


def approval_views(subject: str) -> tuple[type[APIView], type[APIView]]:
    """The record and decision views of one approvable subject, each declaring that
    subject's permission: anyone who may view the records sees their progress; deciding
    needs ``<subject>.approve`` (and then the rules of ``rbac.approvals``)."""
    name = subject.title()
    scopes = token_scopes(read="approvals:read", write="approvals:write")
    record_view = type(
        f"{name}ApprovalRecordAPI",
        (ApprovalRecordAPI,),
        {"subject": subject, "required_permission": f"{subject}.view", "required_scopes": scopes},
    )
    decision_view = type(
        f"{name}ApprovalDecisionAPI",
        (ApprovalDecisionAPI,),
        {
            "subject": subject,
            "required_permission": f"{subject}.approve",
            "required_scopes": scopes,
        },
    )
    return record_view, decision_view


# --- Z9: sharing one document with one user --------------------------------------------------


class GrantInput(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class GrantSerializer(serializers.Serializer):
    document_id = serializers.IntegerField(source="content_object_id")
    user_id = serializers.IntegerField()
    granted_by = serializers.IntegerField(
        source="granted_by_id", allow_null=True, help_text="The granting membership."
    )
    created_at = serializers.DateTimeField()


class DocumentGrantsAPI(APIView):
    """POST ``{user_id}``: shares a document the member may update with one active member of
    the organisation (for instance a client contact)."""

    required_permission = "document.update"
    required_scopes = token_scopes(write="documents:share")

    @extend_schema(
        request=GrantInput,
        responses={201: GrantSerializer, 400: ERROR_RESPONSES[400], 404: ERROR_RESPONSES[404]},
    )
    def post(self, request, org_slug: str, document_id: int):
        document = grants.access_document_for(request.membership, "document.update", document_id)
        form = GrantInput(data=request.data)
        form.is_valid(raise_exception=True)
        grant = grants.document_share(
            document=document,
            user=grants.member_user(form.validated_data["user_id"]),
            granted_by=request.membership,
        )
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class DocumentGrantAPI(APIView):
    """DELETE: withdraws the grant of a document to one user."""

    required_permission = "document.update"
    required_scopes = token_scopes(write="documents:share")

    @extend_schema(
        responses={204: OpenApiResponse(description="Withdrawn."), 404: ERROR_RESPONSES[404]}
    )
    def delete(self, request, org_slug: str, document_id: int, user_id: int):
        document = grants.access_document_for(request.membership, "document.update", document_id)
        grant = grants.access_document_grant(document, user_id)
        grants.document_unshare(document=document, user=grant.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SharedDocumentSerializer(FieldSeparationMixin, serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "title", "expires_on", "internal_notes"]
        read_only_fields = fields


class SharedDocumentAPI(APIView):
    """GET: a document the member may read, in their scope or shared with them one by one
    (Z9); anything else is a 404."""

    required_permission = "document.view"
    required_scopes = token_scopes(read="documents:read")

    @extend_schema(responses={200: SharedDocumentSerializer, 404: ERROR_RESPONSES[404]})
    def get(self, request, org_slug: str, document_id: int):
        document = grants.access_document_for(request.membership, "document.view", document_id)
        return Response(SharedDocumentSerializer(document, context={"request": request}).data)
