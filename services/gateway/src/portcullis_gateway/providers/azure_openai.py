"""Azure OpenAI: OpenAI's wire format at a per-resource host and a per-deployment path.

``https://{resource}.openai.azure.com/openai/deployments/{deployment}/chat/completions
?api-version={version}`` with the key in ``api-key`` or an Entra ID (Azure AD) token as a
Bearer. The resource, deployment and version come in Portkey's headers
(``x-portkey-azure-resource-name``, ``-deployment-id``, ``-api-version``,
``-ad-token``), which reach the adapter without the ``x-portkey-`` prefix. Bodies and
streams are OpenAI's, except that Azure's first stream chunk carries only
``prompt_filter_results`` and no choices: the shared stream transformer drops it.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from portcullis_gateway.providers.base import (
    OPENAI_ROUTES,
    AdapterError,
    Option,
    ProviderOptions,
    ProviderRequest,
    ProviderSpec,
)
from portcullis_gateway.providers.openai_compat import OpenAICompatAdapter, Quirks

NAME = "azure-openai"
# The latest GA data-plane version when this was written; callers pin their own.
DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAIAdapter(OpenAICompatAdapter):
    def __init__(self) -> None:
        super().__init__(NAME, Quirks(endpoints=OPENAI_ROUTES))

    def transform_request(
        self, openai_body: dict, endpoint: str, options: ProviderOptions
    ) -> ProviderRequest:
        extra = options.headers
        resource = extra.get("azure-resource-name")
        deployment = extra.get("azure-deployment-id")
        if not resource or not deployment:
            raise AdapterError(
                "azure-openai needs x-portkey-azure-resource-name and "
                "x-portkey-azure-deployment-id",
                code="missing_azure_options",
            )
        plain = replace(options, api_key=None, headers={})
        request = super().transform_request(openai_body, endpoint, plain)
        version = extra.get("azure-api-version") or DEFAULT_API_VERSION
        request.base_url = f"https://{quote(resource, safe='')}.openai.azure.com"
        request.path = (
            f"/openai/deployments/{quote(deployment, safe='')}{endpoint}"
            f"?api-version={quote(version, safe='')}"
        )
        token = extra.get("azure-ad-token")
        if token:
            request.headers["authorization"] = "Bearer " + token.removeprefix("Bearer ")
        elif options.api_key:
            request.headers["api-key"] = options.api_key
        return request


ADAPTER = AzureOpenAIAdapter()
SPEC = ProviderSpec(
    name=NAME,
    # The host depends on the resource name: the adapter builds it per request.
    base_url="https://{resource}.openai.azure.com",
    routes=OPENAI_ROUTES,
    auth_header="api-key",
    auth_scheme="",
    prices_id="azure",
    adapter=ADAPTER,
    aliases=("azure",),
    options=(
        Option("azure-resource-name"),
        Option("azure-deployment-id"),
        Option("azure-api-version"),
        Option("azure-ad-token", secret=True),  # an Entra ID token, sent as the Bearer
    ),
)
