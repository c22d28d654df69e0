"""The super-admin site's own session cookie name (Z8).

Django's ``SessionMiddleware`` reads one global ``SESSION_COOKIE_NAME``. Changing that setting
per request would race between threads, and copying the middleware would fork Django's
session handling, so this middleware, placed between host routing and ``SessionMiddleware``,
renames the cookie on the way in and out instead: on the super-admin host the browser's
``PALISADE_ADMIN_SESSION_COOKIE_NAME`` cookie is what ``SessionMiddleware`` sees under the
ordinary name, and a cookie sent under the ordinary name is dropped, so a portal session can
never be presented to the super-admin site (nor the other way round: the portal never reads the
admin name). Every ``Set-Cookie`` for the session, including deletions, leaves under the
admin name.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

ADMIN_URLCONF = "config.urls_admin"


def serves_admin_site(request: HttpRequest) -> bool:
    return getattr(request, "urlconf", None) == ADMIN_URLCONF


class AdminSessionCookieMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not serves_admin_site(request):
            return self.get_response(request)
        ordinary = settings.SESSION_COOKIE_NAME
        admin = settings.PALISADE_ADMIN_SESSION_COOKIE_NAME
        cookies = dict(request.COOKIES)
        cookies.pop(ordinary, None)
        if admin in cookies:
            cookies[ordinary] = cookies.pop(admin)
        request.COOKIES = cookies
        response = self.get_response(request)
        morsel = response.cookies.get(ordinary)
        if morsel is not None:
            del response.cookies[ordinary]
            response.cookies[admin] = morsel.value
            for attribute, value in morsel.items():
                if value:
                    response.cookies[admin][attribute] = value
        return response
