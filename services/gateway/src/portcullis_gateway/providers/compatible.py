"""OpenAI-compatible providers as configuration: base URL, endpoints, genai-prices id,
and the quirks that differ from OpenAI. Names are Portkey's ``x-portkey-provider``
slugs, with the short names people also use as aliases."""

from __future__ import annotations

from portcullis_gateway.providers.base import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    OPENAI_ROUTES,
    ProviderSpec,
)
from portcullis_gateway.providers.openai_compat import OpenAICompatAdapter, Quirks

CHAT_ONLY = frozenset({CHAT})
CHAT_AND_EMBED = frozenset({CHAT, EMBEDDINGS})
CHAT_AND_COMPLETE = frozenset({CHAT, COMPLETIONS})

# Fields only OpenAI itself serves; most compatible servers reject them.
OPENAI_ONLY = frozenset({"service_tier", "store", "metadata", "modalities", "audio", "prediction"})


def compatible(
    name: str,
    base_url: str,
    prices_id: str | None = None,
    quirks: Quirks | None = None,
    aliases: tuple[str, ...] = (),
) -> ProviderSpec:
    quirks = quirks or Quirks()
    return ProviderSpec(
        name=name,
        base_url=base_url,
        routes=quirks.endpoints,
        prices_id=prices_id,
        adapter=OpenAICompatAdapter(name, quirks),
        aliases=aliases,
    )


SPECS: tuple[ProviderSpec, ...] = (
    compatible(
        "mistral-ai",
        "https://api.mistral.ai/v1",
        "mistral",
        Quirks(
            # Mistral's API rejects unknown fields (422) and spells two differently.
            unsupported=OPENAI_ONLY
            | {"logit_bias", "logprobs", "top_logprobs", "user", "stream_options"},
            renames={"seed": "random_seed", "max_completion_tokens": "max_tokens"},
            clamps={"top_p": (0, 1)},
            tool_choice_required="any",
            endpoints=CHAT_AND_EMBED,
        ),
        aliases=("mistral",),
    ),
    compatible(
        "groq",
        "https://api.groq.com/openai/v1",
        "groq",
        Quirks(
            # Groq: n must be 1; logprobs and logit_bias are not supported.
            unsupported=OPENAI_ONLY | {"logprobs", "top_logprobs", "logit_bias"},
            clamps={"n": (1, 1), "temperature": (0, 2)},
            endpoints=CHAT_ONLY,
        ),
    ),
    compatible("together-ai", "https://api.together.xyz/v1", "together", aliases=("together",)),
    compatible(
        "fireworks-ai",
        "https://api.fireworks.ai/inference/v1",
        "fireworks",
        Quirks(unsupported=OPENAI_ONLY),
        aliases=("fireworks",),
    ),
    compatible(
        "deepseek",
        "https://api.deepseek.com",
        "deepseek",
        Quirks(
            unsupported=OPENAI_ONLY | {"logit_bias"},
            clamps={"temperature": (0, 2)},
            endpoints=CHAT_ONLY,
        ),
    ),
    compatible(
        "perplexity-ai",
        "https://api.perplexity.ai",
        "perplexity",
        Quirks(
            # Sonar models take no tools, no n, no stop and no logprobs.
            unsupported=OPENAI_ONLY
            | {
                "n",
                "logit_bias",
                "logprobs",
                "top_logprobs",
                "tools",
                "tool_choice",
                "parallel_tool_calls",
                "seed",
                "stop",
                "user",
            },
            renames={"max_completion_tokens": "max_tokens"},
            clamps={"top_p": (0, 1)},
            endpoints=CHAT_ONLY,
        ),
        aliases=("perplexity",),
    ),
    compatible("openrouter", "https://openrouter.ai/api/v1", "openrouter"),
    compatible(
        "x-ai",
        "https://api.x.ai/v1",
        "x-ai",
        Quirks(unsupported=frozenset({"store", "metadata", "modalities", "audio", "prediction"})),
        aliases=("xai", "grok"),
    ),
    compatible("deepinfra", "https://api.deepinfra.com/v1/openai"),
    compatible(
        "cerebras",
        "https://api.cerebras.ai/v1",
        "cerebras",
        Quirks(
            # Cerebras answers 400 to these rather than ignoring them.
            unsupported=OPENAI_ONLY | {"frequency_penalty", "presence_penalty", "logit_bias"},
            clamps={"temperature": (0, 1.5)},
            endpoints=CHAT_AND_COMPLETE,
        ),
    ),
    compatible(
        "sambanova",
        "https://api.sambanova.ai/v1",
        quirks=Quirks(
            unsupported=OPENAI_ONLY | {"logit_bias", "logprobs", "top_logprobs", "n"},
            endpoints=CHAT_AND_EMBED,
        ),
    ),
    compatible(
        "nvidia-nim",
        "https://integrate.api.nvidia.com/v1",
        quirks=Quirks(unsupported=OPENAI_ONLY),
        aliases=("nvidia", "nim"),
    ),
    compatible("lm-studio", "http://127.0.0.1:1234/v1", aliases=("lmstudio",)),
    compatible("vllm", "http://127.0.0.1:8000/v1"),
    compatible(
        "huggingface",
        "https://router.huggingface.co/v1",
        quirks=Quirks(
            # TGI's OpenAI layer: one choice, no logit_bias.
            unsupported=OPENAI_ONLY | {"logit_bias", "parallel_tool_calls"},
            clamps={"n": (1, 1)},
            endpoints=CHAT_AND_COMPLETE,
        ),
        aliases=("tgi", "hugging-face"),
    ),
    compatible("moonshot", "https://api.moonshot.ai/v1", "moonshotai", aliases=("kimi",)),
    compatible("novita-ai", "https://api.novita.ai/v3/openai", "novita", aliases=("novita",)),
    compatible("nebius", "https://api.studio.nebius.com/v1"),
    compatible(
        "zhipu",
        "https://open.bigmodel.cn/api/paas/v4",
        "zhipuai",
        Quirks(unsupported=OPENAI_ONLY, endpoints=CHAT_AND_EMBED),
    ),
    compatible(
        "z-ai",
        "https://api.z.ai/api/paas/v4",
        "zai",
        Quirks(unsupported=OPENAI_ONLY, endpoints=CHAT_ONLY),
    ),
    compatible("hyperbolic", "https://api.hyperbolic.xyz/v1"),
    compatible("lambda", "https://api.lambda.ai/v1"),
    compatible("siliconflow", "https://api.siliconflow.cn/v1"),
)

__all__ = ["OPENAI_ROUTES", "SPECS", "compatible"]
