"""What drf-spectacular needs to describe the API (D8) beyond what it infers: the bearer
credential (API tokens, A17, and token-mode access tokens, A8) as a security scheme, and the
endpoints to describe (the API's, not the portal's pages).

Loaded through ``SPECTACULAR_SETTINGS["PREPROCESSING_HOOKS"]``, so the extension below is
registered before any schema is generated, in whichever process generates it.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tokens.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (organisation API only) or a token-mode access token.",
        }


def api_endpoints_only(endpoints, **kwargs):
    """Only ``/api/`` paths are the API; everything else is a page."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
