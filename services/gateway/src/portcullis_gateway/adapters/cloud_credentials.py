"""The cloud credentials a provider's spec asks for (``ProviderSpec.cloud_auth``), so
the request path asks the spec and never names a provider: a Google service account
becomes an OAuth token before the call is built (``with_token``), and AWS keys sign the
built call with SigV4 (``sign``), in the spec's default region unless one is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from portcullis_gateway.adapters.google_tokens import GoogleTokens
from portcullis_gateway.domain.errors import InvalidRequest
from portcullis_gateway.domain.translation import Prepared
from portcullis_gateway.providers import ProviderOptions, ProviderSpec
from portcullis_gateway.providers.sigv4 import sign_aws_request


async def with_token(
    spec: ProviderSpec, options: ProviderOptions, google_tokens: Callable[[], GoogleTokens]
) -> ProviderOptions:
    if spec.cloud_auth != "google":
        return options
    account = options.headers.get("vertex-service-account-json")
    if not account:
        return options  # a token given as the key is used as it is
    token = await google_tokens().access_token(account)
    return replace(options, api_key=token)


def sign(spec: ProviderSpec, prepared: Prepared, options: dict[str, str]) -> None:
    if spec.cloud_auth != "aws":
        return
    access_key = options.get("aws-access-key-id")
    if not access_key:
        return  # a Bedrock API key (Bearer) needs no signature
    secret = options.get("aws-secret-access-key")
    if not secret:
        raise InvalidRequest(
            f"{spec.name} with x-portkey-aws-access-key-id also needs "
            "x-portkey-aws-secret-access-key",
            code="missing_aws_credentials",
        )
    signed = sign_aws_request(
        prepared.method,
        prepared.url,
        dict(prepared.headers),  # the signer keeps only what SigV4 covers
        prepared.body,
        access_key_id=access_key,
        secret_access_key=secret,
        session_token=options.get("aws-session-token"),
        region=options.get("aws-region") or spec.default_region or "",
    )
    prepared.headers = [
        (name, value) for name, value in prepared.headers if name.lower() not in signed
    ]
    prepared.headers.extend(signed.items())
