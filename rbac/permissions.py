"""How every view of every site declares what it needs (Z1), and the one check that
enforces it (``rbac.middleware.DeclaredPermissionMiddleware``).

- DRF views: ``required_permission = "audit_log.view"``, or a mapping per HTTP method
  (``{"GET": "settings.view", "POST": "settings.manage"}``); a method the mapping leaves out
  is refused.
- HTML views: ``@requires("site.view")``; a page open to holders of any one of several
  permissions: ``@requires_any("shift.delete", "leave.delete")``.
- Views open to anyone (sign-in, invitation acceptance, health check): ``@public``. Views
  that need only a signed-in user and no organisation permission (account pages, second
  factors, password change): ``@signed_in_only``. Both work on functions and classes.
- Views of the super-admin site, which has no organisation (Z8): ``@platform_admin``: a
  signed-in superuser whose session verified a second factor.

A view with none of these answers 403, and a test walks every URL of every site (Z1).
A method the view does not implement at all answers 405 to a member (``implemented_methods``);
one it implements but its declaration leaves out stays a 403 (a declaration bug, refused).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from inspect import getclosurevars
from typing import TypeVar

from django.views.decorators.http import require_http_methods

from rbac.registry import permission

PUBLIC = "public"
SIGNED_IN_ONLY = "signed_in_only"
PERMISSION = "permission"
PLATFORM_ADMIN = "platform_admin"
# Z8: set in a session by the super-admin site's own sign-in only, so a portal session (even a
# superuser's, even verified) never opens the super-admin site.
PLATFORM_SESSION_KEY = "_palisade_platform_admin"

V = TypeVar("V")


@dataclass(frozen=True)
class Declaration:
    kind: str  # PUBLIC, SIGNED_IN_ONLY, PERMISSION or PLATFORM_ADMIN
    # PERMISSION only: per method, the permissions of which a member must hold one (usually
    # just one); "*" stands for every method.
    by_method: Mapping[str, tuple[str, ...]] | None = None

    def permissions_for(self, method: str) -> tuple[str, ...]:
        """The permissions admitting ``method``; none for a method the declaration leaves
        out, which nobody may then use."""
        assert self.by_method is not None
        if method in self.by_method:
            return self.by_method[method]
        if method == "HEAD" and "GET" in self.by_method:
            return self.by_method["GET"]
        return self.by_method.get("*", ())


def _by_method(required: str | Mapping[str, str]) -> Mapping[str, tuple[str, ...]]:
    if isinstance(required, str):
        return {"*": (permission(required),)}
    return {method.upper(): (permission(name),) for method, name in required.items()}


def _mark(view: V, declaration: Declaration) -> V:
    view.rbac_declaration = declaration  # type: ignore[attr-defined]
    return view


def public(view: V) -> V:
    return _mark(view, Declaration(PUBLIC))


def signed_in_only(view: V) -> V:
    return _mark(view, Declaration(SIGNED_IN_ONLY))


def platform_admin(view: V) -> V:
    """A super-admin site view (Z8): only a superuser verified by a second factor."""
    return _mark(view, Declaration(PLATFORM_ADMIN))


def requires(required: str | Mapping[str, str]) -> Callable[[V], V]:
    """An organisation view needs this permission (or one per method); checked at import."""
    declaration = Declaration(PERMISSION, _by_method(required))
    return lambda view: _mark(view, declaration)


def requires_any(*names: str) -> Callable[[V], V]:
    """An organisation view open to a member holding at least one of these permissions (for
    every method); each checked at import like ``requires``."""
    if not names:
        raise ValueError("requires_any needs at least one permission.")
    declaration = Declaration(PERMISSION, {"*": tuple(permission(name) for name in names)})
    return lambda view: _mark(view, declaration)


def view_class_of(callback) -> type | None:
    return getattr(callback, "view_class", None) or getattr(callback, "cls", None)


def declaration_of(callback) -> Declaration | None:
    """The declaration of a URL's callback: on the function, or on its (DRF) view class as
    ``rbac_declaration`` or ``required_permission``; None when undeclared."""
    declared = getattr(callback, "rbac_declaration", None)
    if declared is not None:
        return declared
    view_class = view_class_of(callback)
    if view_class is None:
        return None
    declared = getattr(view_class, "rbac_declaration", None)
    if declared is not None:
        return declared
    required = getattr(view_class, "required_permission", None)
    if required:
        return Declaration(PERMISSION, _by_method(required))
    return None


# The code of the wrapper Django's ``require_http_methods`` (``require_POST``, ``require_GET``,
# ``require_safe``) puts around a synchronous function view: the same code object for every
# use, so a wrapper is recognised by identity, and its methods are read from its closure.
_METHODS_WRAPPER_CODE = require_http_methods([])(lambda request: None).__code__


def _function_methods(callback) -> frozenset[str] | None:
    wrapped = callback
    while wrapped is not None:
        if getattr(wrapped, "__code__", None) is _METHODS_WRAPPER_CODE:
            return frozenset(getclosurevars(wrapped).nonlocals["request_method_list"])
        wrapped = getattr(wrapped, "__wrapped__", None)
    return None


def implemented_methods(callback) -> frozenset[str] | None:
    """The HTTP methods a URL's view answers at all: a class-based view's (DRF or Django)
    handler methods, with HEAD wherever GET is (``View.setup`` adds it), a DRF viewset route's
    actions, or a function view's ``require_http_methods`` list. None when that cannot be
    told from outside: a plain function view (or an async one) may answer any method, so
    only its declaration decides (403)."""
    actions = getattr(callback, "actions", None)
    if actions is not None:
        methods = {method.upper() for method in actions}
    elif (view_class := view_class_of(callback)) is not None:
        initkwargs = getattr(callback, "view_initkwargs", None) or {}
        names = initkwargs.get("http_method_names", view_class.http_method_names)
        methods = {method.upper() for method in names if hasattr(view_class, method)}
    else:
        return _function_methods(callback)
    if "GET" in methods:
        methods.add("HEAD")
    return frozenset(methods)
