"""Bedrock embeddings end to end: the official openai SDK through the running gateway to
the mock's InvokeModel route, for Amazon Titan (one text a call) and Cohere on Bedrock
(a list), base64 (the SDK's default) and float, SigV4 with IAM keys, the 400s the adapter
answers itself, and what the log records."""

import httpx
import msgspec
import openai
import pytest

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"
IAM_KEYS = {
    "x-portkey-aws-access-key-id": "AKIDMOCKEXAMPLE",
    "x-portkey-aws-secret-access-key": "mock-secret-key",  # the mock's secret
}


def bedrock(gateway, mock, **extra) -> openai.OpenAI:
    return gateway.client(
        None,
        api_key="bedrock-api-key",
        **{
            "x-portkey-provider": "bedrock",
            "x-portkey-custom-host": mock.url,
            "x-portkey-aws-region": "eu-west-1",
            **extra,
        },
    )


def from_the_mock(mock, model: str, body: dict) -> dict:
    """What the mock answers that body with, asked directly: the vectors to expect."""
    return httpx.post(f"{mock.url}/model/{model}/invoke", json=body).json()


async def test_titan_base64_by_default_gives_the_floats_and_usage(gateway, mock, events):
    mock.clear()
    raw = bedrock(gateway, mock).embeddings.with_raw_response.create(
        model=TITAN, input="hello", dimensions=256
    )
    answer = raw.parse()
    [seen] = mock.requests()
    assert seen["path"] == f"/model/{TITAN}/invoke"
    assert seen["body"] == {"inputText": "hello", "dimensions": 256, "normalize": True}
    assert seen["headers"]["authorization"] == "Bearer bedrock-api-key"
    [item] = answer.data
    expected = from_the_mock(mock, TITAN, seen["body"])["embedding"]
    # The SDK asked for base64 and decoded float32 itself: equal to float32 precision.
    assert len(item.embedding) == 256
    assert item.embedding == pytest.approx(expected, abs=1e-6)
    assert answer.model == TITAN
    assert (answer.usage.prompt_tokens, answer.usage.total_tokens) == (1, 1)
    logged, _ = await events.log(gateway, raw.headers["x-portkey-request-id"])
    assert logged.provider == "bedrock" and logged.status == 200 and logged.is_success
    assert logged.kind == "embeddings" and logged.model == TITAN
    # The SDK's own default, so the base64 answer above was the one exercised.
    assert msgspec.json.decode(logged.request_body)["encoding_format"] == "base64"
    assert (logged.usage.prompt_tokens, logged.usage.total_tokens) == (1, 1)


def test_titan_float_is_passed_exactly(gateway, mock):
    answer = bedrock(gateway, mock).embeddings.create(
        model=TITAN, input="hello there", encoding_format="float"
    )
    expected = from_the_mock(mock, TITAN, {"inputText": "hello there", "normalize": True})
    assert answer.data[0].embedding == expected["embedding"]
    assert len(answer.data[0].embedding) == 1024
    assert answer.usage.prompt_tokens == 2


async def test_cohere_on_bedrock_embeds_a_list(gateway, mock, events):
    mock.clear()
    texts = ["hello", "good morning"]
    raw = bedrock(gateway, mock).embeddings.with_raw_response.create(
        model=COHERE, input=texts, extra_body={"input_type": "search_query"}
    )
    answer = raw.parse()
    [seen] = mock.requests()
    assert seen["path"] == f"/model/{COHERE}/invoke"
    assert seen["body"] == {"texts": texts, "input_type": "search_query"}
    expected = from_the_mock(mock, COHERE, seen["body"])["embeddings"]
    assert [d.index for d in answer.data] == [0, 1]
    for item, vector in zip(answer.data, expected, strict=True):
        assert item.embedding == pytest.approx(vector, abs=1e-6)
    # Cohere's count is only in Bedrock's X-Amzn-Bedrock-Input-Token-Count header (the
    # mock counts words: 1 + 2), not the body; it wins over the adapter's estimate (5).
    assert answer.usage.prompt_tokens == 3
    logged, _ = await events.log(gateway, raw.headers["x-portkey-request-id"])
    assert logged.provider == "bedrock" and logged.usage.prompt_tokens == 3
    assert not logged.usage.estimated


def test_cohere_gets_its_default_input_type(gateway, mock):
    mock.clear()
    answer = bedrock(gateway, mock).embeddings.create(model=COHERE, input="hello")
    [seen] = mock.requests()
    # Bedrock refuses a Cohere call without input_type; OpenAI callers never send one.
    assert seen["body"]["input_type"] == "search_document"
    assert len(answer.data) == 1 and len(answer.data[0].embedding) == 1024


async def test_a_list_to_titan_is_a_clear_400_and_no_call(gateway, mock, events):
    mock.clear()
    client = bedrock(gateway, mock)
    with pytest.raises(openai.BadRequestError) as refused:
        client.embeddings.create(model=TITAN, input=["one", "two"])
    assert "one text per request, got 2" in refused.value.message
    assert refused.value.code == "too_many_inputs"
    assert mock.requests() == []
    logged, _ = await events.log(gateway, refused.value.response.headers["x-portkey-request-id"])
    assert logged.provider == "bedrock" and logged.status == 400 and not logged.is_success


@pytest.mark.parametrize(
    ("model", "extra", "says"),
    [
        ("amazon.nova-pro-v1:0", {}, "amazon.titan-embed-text-* and cohere.embed-*"),
        (TITAN, {"dimensions": 300}, "dimensions 256, 512 or 1024"),
    ],
)
def test_what_bedrock_cannot_embed_is_a_400_naming_why(gateway, mock, model, extra, says):
    mock.clear()
    with pytest.raises(openai.BadRequestError) as refused:
        bedrock(gateway, mock).embeddings.create(model=model, input="hello", **extra)
    assert says in refused.value.message
    assert mock.requests() == []


def test_iam_keys_sign_the_invoke_call(gateway, mock):
    mock.clear()
    answer = bedrock(gateway, mock, **IAM_KEYS).embeddings.create(
        model=TITAN, input="hello", dimensions=512
    )
    assert len(answer.data[0].embedding) == 512
    [seen] = mock.requests()
    authorization = seen["headers"]["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDMOCKEXAMPLE/")
    assert "/eu-west-1/bedrock/aws4_request" in authorization
    # The mock re-signs what arrived (the path with %3A): a wrong secret cannot match.
    wrong = {**IAM_KEYS, "x-portkey-aws-secret-access-key": "not-the-secret"}
    with pytest.raises(openai.PermissionDeniedError) as refused:
        bedrock(gateway, mock, **wrong).embeddings.create(model=TITAN, input="hello")
    assert "signature" in refused.value.message.lower()
