from django.conf import settings
from django.http import Http404


class SiteRoutingMiddleware:
    """Chooses the URLconf (portal, client portal, super-admin) from the request host.

    A host that no site is configured for never falls back to another site: the super-admin
    URLconf is unreachable from a process that does not serve it (Z8).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        urlconf = settings.SITE_URLCONFS.get(request.get_host().split(":")[0])
        if urlconf is None:
            raise Http404("Unknown site")
        request.urlconf = urlconf
        return self.get_response(request)
