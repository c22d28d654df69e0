import re

from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404, JsonResponse

from tenants.context import tenant_context
from tenants.ip_allowlist import request_refusal
from tenants.models import Organization
from tenants.selectors import active_membership
from tokens.bearer import BearerRefused, bearer_sign_in, presented_credential

# T5: the organisation comes from the URL, and only from the URL.
ORG_PATH = re.compile(r"^/(?P<api>api/v1/)?o/(?P<slug>[^/]*)/")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class TenantMiddleware:
    """Resolves the organisation of an ``/o/<slug>/`` or ``/api/v1/o/<slug>/`` request, checks
    the user's active membership and runs the rest of the request inside its context.

    An API request may authenticate with a bearer credential instead of a session (A8, A17,
    ``tokens.bearer``): it is checked without I/O first, and its user is found inside the
    context, before the membership check, which then applies to that user.

    An unknown slug, an inactive organisation and a missing membership all give the same 404,
    so nobody learns that another organisation exists. The request runs in one transaction
    (the context's); an error response rolls it back so nothing is half-written.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        match = ORG_PATH.match(request.path_info)
        if match is None:
            return self.get_response(request)
        is_api = bool(match["api"])
        try:
            credential = presented_credential(request) if is_api else None
        except BearerRefused as refused:
            return refused.response()
        if credential is None and not request.user.is_authenticated:
            if is_api:
                return JsonResponse(
                    {"detail": "Authentication credentials were not provided."}, status=401
                )
            return redirect_to_login(request.get_full_path())

        organization = self._organization(match["slug"])
        if organization is None or (credential is not None and not credential.admits(organization)):
            return self._not_found(is_api)
        # Writes that must outlive a rolled-back request, such as the audit record of a
        # refused access (L1); each runs in its own transaction afterwards.
        request.durable_writes = []
        with tenant_context(organization):
            if credential is not None:
                try:
                    bearer_sign_in(request, credential)
                except BearerRefused as refused:
                    return refused.response()
            membership = active_membership(request.user)
            if membership is None:
                return self._not_found(is_api)
            request.organization = organization
            request.membership = membership
            # A12: the organisation's IP allowlist, before anything else of the request runs.
            response = request_refusal(request) or self.get_response(request)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        for write in request.durable_writes:
            with tenant_context(organization):
                write()
        return response

    @staticmethod
    def _organization(slug: str) -> Organization | None:
        if not SLUG.match(slug):
            return None
        return Organization.objects.filter(slug=slug, status=Organization.Status.ACTIVE).first()

    @staticmethod
    def _not_found(is_api: bool):
        if is_api:
            return JsonResponse({"detail": "Not found."}, status=404)
        raise Http404("Not found")
