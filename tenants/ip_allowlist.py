"""IP allowlists (A12): the networks an organisation's members may work from.

- An organisation with no entries, or whose allowlist an owner has suspended (break-glass),
  restricts nothing. Otherwise every request and API call inside it must come from a listed
  network: the tenant middleware checks the client address against the entries that
  ``tenants.selectors.active_membership`` already loads with the membership (no query of its
  own). The client address is ``config.network.client_ip``: ``X-Forwarded-For`` counts only
  from configured trusted proxies.
- At sign-in, once every factor has passed, a person whose organisations all refuse the
  address is not signed in. Owners are the exception, so that an owner locked out by a
  mistaken list can still reach the break-glass path; inside the organisation they get the
  same refusal as anyone else.
- Networks are parsed with ``ipaddress`` and stored in a PostgreSQL ``cidr`` column; matching
  compares address objects, never strings.
- Every change is audited and refused when the admin making it would be locked out by it.
  Break-glass (owners only, a stated reason) suspends the allowlist without that guard, is
  audited as ``ip_allowlist.break_glass`` and emailed to every owner.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from accounts.mail import send_templated_email
from accounts.models import User
from audit.context import Origin, acting_as, user_actor
from audit.services import (
    audit_event_record,
    audit_event_record_durably,
    record_in_each_organisation,
)
from config.network import client_ip, parse_address
from tenants.context import current_organization_id, tenant_context
from tenants.models import IpAllowlistEntry, Membership, Organization, SecurityPolicy
from tenants.selectors import active_membership, memberships_for_user

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Room for an organisation's offices, VPN exits and cloud ranges; more than this is a list
# nobody reviews, and every request of the organisation carries it.
MAX_ENTRIES = 100
# Longer than any network written in CIDR notation; longer input is refused unparsed.
MAX_CIDR_LENGTH = 50
# Prefixes shorter than these cover a large share of the Internet (a /7 is 1/128 of IPv4),
# almost always a typo for a longer one; they need an explicit confirmation.
BROAD_PREFIX_BELOW = {4: 8, 6: 16}
MIN_REASON_LENGTH = 20
MAX_REASON_LENGTH = 1000
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_OWNER = Membership.Role.OWNER

NOT_A_NETWORK = (
    "Enter an IPv4 or IPv6 address or network in CIDR notation, "
    "e.g. 203.0.113.0/24 or 2001:db8::/48."
)
NOT_ASCII = "Write addresses with ASCII characters only (digits, a-f, '.', ':' and '/')."
ZONE_ID = "Zone ids ('%...') cannot be allowlisted: they mean nothing off the local link."
REFUSED_DETAIL = (
    "{organization} does not allow access from your network ({ip}). Connect from an allowed "
    "network, or ask an administrator of {organization} to add it."
)
# Says neither which organisation refused nor what it allows.
SIGN_IN_REFUSED = (
    "You cannot sign in from this network. If you need access from here, ask your "
    "organisation's administrator."
)
BREAK_GLASS_URL_NAMES = frozenset({"api-ip-allowlist-break-glass", "ip-allowlist-break-glass"})


# --- Parsing and matching -----------------------------------------------------------------


def network_parse(value: str, *, confirm_broad: bool = False) -> Network:
    """An allowlist network from what an admin typed, or a ValidationError that says how to
    write it (and never repeats unparsed input). A bare address is a /32 or /128.

    Host bits are refused rather than cleared: ``192.0.2.10/24`` may mean the /24 or the
    single address, and an allowlist should hold what its admin meant."""
    text = value.strip()
    if not text or len(text) > MAX_CIDR_LENGTH:
        raise ValidationError(NOT_A_NETWORK, code="invalid")
    if not text.isascii():
        raise ValidationError(NOT_ASCII, code="invalid")
    if "%" in text:
        raise ValidationError(ZONE_ID, code="invalid")
    try:
        interface = ipaddress.ip_interface(text)
    except ValueError:
        raise ValidationError(NOT_A_NETWORK, code="invalid") from None
    network = interface.network
    if interface.ip != network.network_address:
        raise ValidationError(
            f"{text} has host bits set: write the network as {network}, or the single "
            f"address as {interface.ip}/{network.max_prefixlen}.",
            code="host_bits",
        )
    if network.version == 6 and network.prefixlen >= 96 and network.subnet_of(_IPV4_MAPPED):
        ipv4 = ipaddress.IPv4Network(
            (int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96)
        )
        # config.network maps IPv4-mapped client addresses to IPv4, so this could never match.
        raise ValidationError(f"Write this network as IPv4: {ipv4}.", code="ipv4_mapped")
    if network.prefixlen < BROAD_PREFIX_BELOW[network.version] and not confirm_broad:
        raise ValidationError(
            f"{network} covers a very large part of the Internet, so it restricts almost "
            "nothing. Confirm it (confirm_broad) if that is what you mean.",
            code="broad",
        )
    return network


@lru_cache(maxsize=1024)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    # Entries come from a cidr column, so they always parse; parsed once per distinct list
    # per process instead of on every request.
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


def allowlist_admits(cidrs: Sequence[str], ip: str | None) -> bool:
    """Whether a client at ``ip`` may work under these entries. No entries: everyone. An
    unknown or unparseable address is refused by any non-empty list (fail closed)."""
    if not cidrs:
        return True
    address = parse_address(ip) if ip else None
    if address is None:
        return False
    # ``in`` is False across address families, so an IPv6 client never matches IPv4 entries.
    return any(address in network for network in _networks(tuple(cidrs)))


def membership_admits(membership: Membership, ip: str | None) -> bool:
    """The check for a membership from ``active_membership``, which carries its
    organisation's entries and suspension."""
    if membership.ip_allowlist_suspended_at is not None:
        return True
    return allowlist_admits(membership.ip_allowlist, ip)


# --- Enforcement --------------------------------------------------------------------------


def _is_break_glass(request: HttpRequest) -> bool:
    """An owner's break-glass request, the one organisation request an allowlist that
    refuses the owner still lets through (A12). Only from a signed-in session: a bearer
    credential is not an owner at the keyboard."""
    if request.membership.role != _OWNER or request.method != "POST":
        return False
    if getattr(request, "bearer", None) is not None:
        return False
    try:
        match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return match.url_name in BREAK_GLASS_URL_NAMES


def request_refusal(request: HttpRequest) -> HttpResponse | None:
    """The 403 for an organisation request from a network its allowlist refuses, or None.
    Runs in the tenant middleware, once the membership is known: outsiders get the 404
    before this, so nothing tells them whether an allowlist exists. The refusal names the
    client's own address, never the allowlist."""
    membership = request.membership
    ip = client_ip(request)
    if membership_admits(membership, ip) or _is_break_glass(request):
        return None
    # The audit context middleware runs later in the chain, so actor and origin are given
    # here; the event is written after the request's transaction has been rolled back.
    origin = Origin(ip=ip, user_agent=request.META.get("HTTP_USER_AGENT", ""))
    bearer = getattr(request, "bearer", None)
    actor = bearer.actor(membership.role) if bearer else user_actor(request.user, membership.role)
    with acting_as(actor, origin):
        audit_event_record_durably(
            request,
            action="ip_allowlist.request_refused",
            changes={"path": [None, request.path], "method": [None, request.method]},
        )
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {"detail": _refusal_detail(request), "code": "ip_not_allowed"}, status=403
        )
    return network_refused_page(request)


def _refusal_detail(request: HttpRequest) -> str:
    return REFUSED_DETAIL.format(
        organization=request.organization.name, ip=client_ip(request) or "unknown"
    )


def network_refused_page(
    request: HttpRequest, *, reason_error: str = "", status: int = 403
) -> HttpResponse:
    """The portal's refusal page; owners also find the break-glass form on it."""
    context = {
        "organization": request.organization,
        "detail": _refusal_detail(request),
        "is_owner": request.membership.role == _OWNER,
        "reason_error": reason_error,
        "min_reason_length": MIN_REASON_LENGTH,
    }
    return render(request, "organization/network_refused.html", context, status=status)


def sign_in_network_refused(*, user: User, ip: str | None) -> bool:
    """Whether ``user``, having passed every factor, must not be signed in from ``ip``
    because every one of their organisations refuses it; such a refusal is recorded in each
    (the address is the event's origin). Nobody is refused who belongs to no organisation,
    who has one that admits the address, or who owns one: a locked-out owner must still
    reach the break-glass path."""
    memberships = memberships_for_user(user)
    if not memberships or any(role == _OWNER for _, role in memberships):
        return False
    for organization, _ in memberships:
        with tenant_context(organization):
            membership = active_membership(user)
        if membership is not None and membership_admits(membership, ip):
            return False
    record_in_each_organisation(
        user, "auth.sign_in_refused", user_actor(user), changes={"reason": [None, "ip_allowlist"]}
    )
    return True


# --- Reads --------------------------------------------------------------------------------


def ip_allowlist_entries():
    return IpAllowlistEntry.objects.select_related("created_by").order_by("created_at", "id")


def access_ip_allowlist_entry(entry_id: int) -> IpAllowlistEntry:
    return get_object_or_404(IpAllowlistEntry.objects, pk=entry_id)


def security_policy() -> SecurityPolicy:
    return SecurityPolicy.objects.get()


# --- Changes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryInput:
    cidr: str
    label: str = ""


def _locked_policy() -> SecurityPolicy:
    # One allowlist change at a time per organisation: the guard and the entry cap are
    # checked against the list as it will be committed.
    return SecurityPolicy.objects.select_for_update().get()


def _current_cidrs() -> list[str]:
    return list(IpAllowlistEntry.objects.order_by("id").values_list("cidr", flat=True))


def _lockout_guard(policy: SecurityPolicy, cidrs_after: Sequence[str], actor_ip: str | None):
    """Refuses a change after which the admin making it could no longer reach the
    organisation from where they are (A12). A suspended allowlist is checked on resume."""
    if policy.ip_allowlist_suspended_at is None and not allowlist_admits(cidrs_after, actor_ip):
        raise ValidationError(
            f"This change would lock you out: your address ({actor_ip or 'unknown'}) would no "
            "longer be allowed. Add a network that includes it first.",
            code="lockout",
        )


def _label(label: str) -> str:
    label = label.strip()
    if len(label) > IpAllowlistEntry._meta.get_field("label").max_length:
        raise ValidationError({"label": "Keep the label under 100 characters."})
    return label


def _entry_audit(entry: IpAllowlistEntry) -> dict[str, str]:
    return {"cidr": entry.cidr, "label": entry.label}


@transaction.atomic
def ip_allowlist_add(
    *,
    cidr: str,
    label: str = "",
    created_by: User | None,
    actor_ip: str | None,
    confirm_broad: bool = False,
) -> IpAllowlistEntry:
    try:
        network = network_parse(cidr, confirm_broad=confirm_broad)
    except ValidationError as error:
        raise ValidationError({"cidr": error.messages}) from None
    entry = IpAllowlistEntry(cidr=str(network), label=_label(label), created_by=created_by)
    policy = _locked_policy()
    cidrs = _current_cidrs()
    if any(ipaddress.ip_network(existing) == network for existing in cidrs):
        raise ValidationError({"cidr": f"{network} is already on the allowlist."})
    if len(cidrs) >= MAX_ENTRIES:
        raise ValidationError(f"An allowlist holds at most {MAX_ENTRIES} networks.")
    _lockout_guard(policy, [*cidrs, entry.cidr], actor_ip)
    entry.save()
    audit_event_record(
        action="ip_allowlist.entry_added",
        entity=entry,
        changes={"cidr": [None, entry.cidr], "label": [None, entry.label]},
    )
    return entry


@transaction.atomic
def ip_allowlist_remove(*, entry: IpAllowlistEntry, actor_ip: str | None) -> None:
    policy = _locked_policy()
    remaining = [cidr for cidr in _current_cidrs() if cidr != entry.cidr]
    _lockout_guard(policy, remaining, actor_ip)
    audit_event_record(
        action="ip_allowlist.entry_removed",
        entity=entry,
        changes={"cidr": [entry.cidr, None], "label": [entry.label, None]},
    )
    entry.delete()


@transaction.atomic
def ip_allowlist_replace(
    *,
    entries: Sequence[EntryInput],
    created_by: User | None,
    actor_ip: str | None,
    confirm_broad: bool = False,
) -> list[IpAllowlistEntry]:
    """The whole list at once (an empty one lifts the restriction). Refused whole if any
    entry is invalid or duplicated."""
    if len(entries) > MAX_ENTRIES:
        raise ValidationError({"entries": f"An allowlist holds at most {MAX_ENTRIES} networks."})
    new_entries: list[IpAllowlistEntry] = []
    seen: set[Network] = set()
    problems: list[str] = []
    for number, given in enumerate(entries, start=1):
        try:
            network = network_parse(given.cidr, confirm_broad=confirm_broad)
            label = _label(given.label)
        except ValidationError as error:
            problems.extend(f"Entry {number}: {message}" for message in error.messages)
            continue
        if network in seen:
            problems.append(f"Entry {number}: {network} is listed twice.")
            continue
        seen.add(network)
        new_entries.append(IpAllowlistEntry(cidr=str(network), label=label, created_by=created_by))
    if problems:
        raise ValidationError({"entries": problems})
    policy = _locked_policy()
    _lockout_guard(policy, [entry.cidr for entry in new_entries], actor_ip)
    before = [_entry_audit(entry) for entry in ip_allowlist_entries()]
    IpAllowlistEntry.objects.all().delete()
    for entry in new_entries:
        entry.save()
    audit_event_record(
        action="ip_allowlist.replaced",
        entity=policy,
        changes={"entries": [before, [_entry_audit(entry) for entry in new_entries]]},
    )
    return new_entries


@transaction.atomic
def ip_allowlist_resume(*, actor_ip: str | None) -> SecurityPolicy:
    """Enforces a suspended allowlist again, through the lockout guard."""
    policy = _locked_policy()
    suspended_at = policy.ip_allowlist_suspended_at
    if suspended_at is None:
        raise ValidationError("The allowlist is not suspended.")
    policy.ip_allowlist_suspended_at = None
    _lockout_guard(policy, _current_cidrs(), actor_ip)
    policy.save(update_fields=["ip_allowlist_suspended_at"])
    audit_event_record(
        action="ip_allowlist.resumed",
        entity=policy,
        changes={"ip_allowlist_suspended_at": [suspended_at, None]},
    )
    return policy


@transaction.atomic
def ip_allowlist_break_glass(*, reason: str, actor: User, actor_ip: str | None) -> SecurityPolicy:
    """An owner suspends the allowlist without the lockout guard (A12): the way back in when
    the list shuts everyone out. Needs a stated reason, is recorded as
    ``ip_allowlist.break_glass`` and emailed to every owner, so it is never quiet. The
    entries are kept for the resume."""
    reason = reason.strip()
    if not MIN_REASON_LENGTH <= len(reason) <= MAX_REASON_LENGTH:
        raise ValidationError(
            {
                "reason": f"State why, in {MIN_REASON_LENGTH} to {MAX_REASON_LENGTH} "
                "characters: every owner will read it."
            }
        )
    policy = _locked_policy()
    if policy.ip_allowlist_suspended_at is not None:
        raise ValidationError("The allowlist is already suspended.")
    entry_count = IpAllowlistEntry.objects.count()
    if entry_count == 0:
        raise ValidationError("There is no allowlist to suspend.")
    policy.ip_allowlist_suspended_at = timezone.now()
    policy.save(update_fields=["ip_allowlist_suspended_at"])
    audit_event_record(
        action="ip_allowlist.break_glass",
        entity=policy,
        changes={
            "ip_allowlist_suspended_at": [None, policy.ip_allowlist_suspended_at],
            "reason": [None, reason],
            "entries_kept": [None, entry_count],
        },
    )
    organization = Organization.objects.get(pk=current_organization_id())
    owners = [
        membership.user.email
        for membership in Membership.objects.active().filter(role=_OWNER).select_related("user")
    ]
    context = {
        "organization": organization,
        "actor": actor.email,
        "ip": actor_ip or "unknown",
        "at": policy.ip_allowlist_suspended_at,
        "reason": reason,
        "link": settings.PALISADE_PORTAL_URL
        + reverse("dashboard", kwargs={"org_slug": organization.slug}),
    }

    def notify_owners() -> None:
        for email in owners:
            send_templated_email(to=email, template="ip_allowlist_break_glass", context=context)

    transaction.on_commit(notify_owners)
    return policy
