from django.http import HttpResponse


def liveness(request):
    """Public and minimal (O4): says the process answers, nothing else."""
    return HttpResponse("ok", content_type="text/plain")
