from django.http import HttpResponse

from rbac.permissions import public


@public
def liveness(request):
    """Public and minimal (O4): says the process answers, nothing else."""
    return HttpResponse("ok", content_type="text/plain")
