from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import CursorPagination

from tokens.scopes import token_scopes
from workforce import selectors
from workforce.models import Site


class SiteSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name", default=None, read_only=True)

    class Meta:
        model = Site
        fields = ["id", "name", "address", "department", "created_at"]
        read_only_fields = fields


class SitePagination(CursorPagination):
    ordering = ("name", "id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class SiteListAPI(ListAPIView):
    serializer_class = SiteSerializer
    required_permission = "site.view"
    required_scopes = token_scopes(read="sites:read")
    pagination_class = SitePagination

    def get_queryset(self):
        return selectors.sites_list()


class SiteDetailAPI(RetrieveAPIView):
    serializer_class = SiteSerializer
    required_permission = "site.view"
    required_scopes = token_scopes(read="sites:read")

    def get_object(self):
        return selectors.access_site(self.kwargs["site_id"])
