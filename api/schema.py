"""How the OpenAPI schema describes our authentication (drf-spectacular extensions,
loaded by ``api.apps``)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (cct_…) with the scopes the call needs.",
        }


class IngestionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.ingestion.IngestionTokenAuthentication"
    name = "ingestionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A brand's ingestion token (cti_…), for the telemetry endpoint.",
        }
