"""A test-only URLconf: views that forgot to declare a permission, next to one that did."""

from django.http import HttpResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from rbac.permissions import public


def forgotten_page(request):
    return HttpResponse("open")


class ForgottenAPI(APIView):
    def get(self, request):
        return Response({"open": True})


@public
def declared_page(request):
    return HttpResponse("public")


urlpatterns = [
    path("forgotten/", forgotten_page),
    path("api/forgotten/", ForgottenAPI.as_view()),
    path("declared/", declared_page),
]
