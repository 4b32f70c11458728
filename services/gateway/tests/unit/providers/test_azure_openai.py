"""Azure OpenAI: per-resource host, per-deployment path, api-version, and the two ways
to authenticate (api-key, Entra ID token). Its stream is covered by test_compatible's
golden fixtures (stream_azure.sse: the prompt_filter_results chunk is dropped)."""

import pytest
from portcullis_gateway.providers import PROVIDERS, AdapterError, ProviderOptions

ADAPTER = PROVIDERS["azure-openai"].adapter
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def test_request_with_api_key() -> None:
    options = ProviderOptions(
        api_key="az-key",
        headers={"azure-resource-name": "my-res", "azure-deployment-id": "gpt4o-prod"},
    )
    request = ADAPTER.transform_request(BODY, "/chat/completions", options)
    assert request.base_url == "https://my-res.openai.azure.com"
    assert request.path == "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    assert request.headers == {"content-type": "application/json", "api-key": "az-key"}
    assert request.body == BODY and request.notes == []


def test_entra_token_wins_and_version_and_names_are_escaped() -> None:
    options = ProviderOptions(
        api_key="az-key",
        headers={
            "azure-resource-name": "res",
            "azure-deployment-id": "emb/../x",
            "azure-api-version": "2025-04-01-preview",
            "azure-ad-token": "Bearer eyJ0",
        },
    )
    request = ADAPTER.transform_request({"input": "x"}, "/embeddings", options)
    assert (
        request.path == "/openai/deployments/emb%2F..%2Fx/embeddings?api-version=2025-04-01-preview"
    )
    assert request.headers["authorization"] == "Bearer eyJ0"
    assert "api-key" not in request.headers


def test_missing_resource_is_a_400_naming_the_headers() -> None:
    with pytest.raises(AdapterError) as raised:
        ADAPTER.transform_request(BODY, "/chat/completions", ProviderOptions(api_key="k"))
    assert raised.value.status == 400 and "x-portkey-azure-resource-name" in str(raised.value)
    assert PROVIDERS["azure"] is PROVIDERS["azure-openai"]
    assert PROVIDERS["azure"].prices_id == "azure"
