from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from tenants.models import Membership
from tokens.format import PresentedToken
from tokens.models import ApiToken


def api_tokens_visible_to(membership: Membership) -> QuerySet[ApiToken]:
    """The organisation's tokens for its owners (the inventory, A17); a member's own for
    everyone else. With their owners, which the status needs."""
    tokens = ApiToken.objects.select_related("owner").order_by("-created_at", "-id")
    if membership.role == Membership.Role.OWNER:
        return tokens
    return tokens.filter(owner_id=membership.user_id)


def access_api_token(membership: Membership, token_id: int) -> ApiToken:
    return get_object_or_404(api_tokens_visible_to(membership), pk=token_id)


def api_token_presented(presented: PresentedToken) -> ApiToken | None:
    """The current organisation's token with this digest, and its owner, in one query."""
    return ApiToken.objects.select_related("owner").filter(digest=presented.digest).first()
