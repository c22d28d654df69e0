"""URL patterns included by config.urls_portal (``api_patterns`` under
``/api/v1/o/<slug>/``, ``page_patterns`` under ``/o/<slug>/``).

Approvals (Z6): each approvable subject is spelt out in its routes, so an unknown subject
matches nothing (404) and every route's view declares its own subject's permission (Z1).
"""

from django.urls import path

from config import converters  # noqa: F401 - registers <id:>
from rbac import approval_api
from rbac.approvals import APPROVABLE, APPROVE, REJECT


def _approval_patterns(subject: str) -> list:
    record_view, decision_view = approval_api.approval_views(subject)
    base = f"approvals/{subject}/<id:record_id>/"
    return [
        path(base, record_view.as_view(), name=f"api-approval-{subject}"),
        path(
            f"{base}approve/",
            decision_view.as_view(verdict=APPROVE),
            name=f"api-approval-{subject}-approve",
        ),
        path(
            f"{base}reject/",
            decision_view.as_view(verdict=REJECT),
            name=f"api-approval-{subject}-reject",
        ),
    ]


api_patterns: list = [
    *(pattern for subject in APPROVABLE for pattern in _approval_patterns(subject)),
    # Z9: one document shared with one user.
    path(
        "documents/<id:document_id>/grants/",
        approval_api.DocumentGrantsAPI.as_view(),
        name="api-document-grants",
    ),
    path(
        "documents/<id:document_id>/grants/<id:user_id>/",
        approval_api.DocumentGrantAPI.as_view(),
        name="api-document-grant",
    ),
    path(
        "shared-documents/<id:document_id>/",
        approval_api.SharedDocumentAPI.as_view(),
        name="api-shared-document",
    ),
]
page_patterns: list = []
