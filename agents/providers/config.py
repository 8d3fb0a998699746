"""Which language model the agents use, read from settings (``LLM_*``, see .env.example).

Kept free of pydantic-ai imports: labels, prices and the spend bound are needed by web
processes that never call a model, and the SDKs take seconds to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .offline import LABEL as OFFLINE_LABEL

PROVIDERS = ("offline", "openai", "anthropic")
MILLION = Decimal(1_000_000)
# AgentRun.cost keeps four decimal places; rounding up means spend is never under-counted.
COST_QUANTUM = Decimal("0.0001")
# Per request, beyond what we measure: message framing, the tool definition as the
# provider renders it. Generous on purpose — it only feeds an upper bound.
REQUEST_OVERHEAD_TOKENS = 1_000


@dataclass(frozen=True)
class LLMConfig:
    provider: str
    base_url: str
    model: str
    api_key: str
    timeout_seconds: float
    output_retries: int
    max_output_tokens: int
    max_input_tokens: int
    price_input_per_mtok: Decimal
    price_output_per_mtok: Decimal

    @property
    def label(self) -> str:
        if self.provider == "offline":
            return OFFLINE_LABEL
        kind = "openai-compatible" if self.provider == "openai" else self.provider
        return f"{kind} · {self.model}"[:120]  # AgentRun.model_label holds 120

    @property
    def max_attempts(self) -> int:
        return 1 + self.output_retries

    def cost(self, *, input_tokens: int, output_tokens: int) -> Decimal:
        if self.provider == "offline":
            return Decimal("0")
        cost = (
            Decimal(input_tokens) * self.price_input_per_mtok
            + Decimal(output_tokens) * self.price_output_per_mtok
        ) / MILLION
        return cost.quantize(COST_QUANTUM, rounding=ROUND_CEILING)

    def max_cost(self) -> Decimal:
        """The most one generate() call can cost. Every attempt carries the first prompt
        (capped at max_input_tokens) plus, for each earlier attempt, that attempt's output
        and the validation feedback on it (each bounded by max_output_tokens)."""
        attempts, most_output = self.max_attempts, self.max_output_tokens
        retry_growth = attempts * (attempts - 1) // 2 * (2 * most_output + REQUEST_OVERHEAD_TOKENS)
        input_tokens = attempts * (self.max_input_tokens + REQUEST_OVERHEAD_TOKENS) + retry_growth
        return self.cost(input_tokens=input_tokens, output_tokens=attempts * most_output)


def llm_config() -> LLMConfig:
    """The configured model, checked: a bad configuration is an ImproperlyConfigured error
    that says what to set, never a failure on the first run."""
    provider = str(getattr(settings, "LLM_PROVIDER", "offline") or "offline").strip().lower()
    config = LLMConfig(
        provider=provider,
        base_url=str(getattr(settings, "LLM_BASE_URL", "") or "").strip(),
        model=str(getattr(settings, "LLM_MODEL", "") or "").strip(),
        api_key=str(getattr(settings, "LLM_API_KEY", "") or ""),
        timeout_seconds=float(getattr(settings, "LLM_TIMEOUT_SECONDS", 60)),
        output_retries=int(getattr(settings, "LLM_OUTPUT_RETRIES", 2)),
        max_output_tokens=int(getattr(settings, "LLM_MAX_OUTPUT_TOKENS", 4000)),
        max_input_tokens=int(getattr(settings, "LLM_MAX_INPUT_TOKENS", 50_000)),
        price_input_per_mtok=Decimal(str(getattr(settings, "LLM_PRICE_INPUT_PER_MTOK", 0))),
        price_output_per_mtok=Decimal(str(getattr(settings, "LLM_PRICE_OUTPUT_PER_MTOK", 0))),
    )
    problems = _problems(config)
    if problems:
        raise ImproperlyConfigured(" ".join(problems))
    return config


def _problems(config: LLMConfig) -> list[str]:
    if config.provider not in PROVIDERS:
        return [
            f"LLM_PROVIDER must be one of {', '.join(PROVIDERS)}; got “{config.provider}”. "
            "Leave it unset for the offline composer."
        ]
    problems = []
    if config.timeout_seconds <= 0:
        problems.append("LLM_TIMEOUT_SECONDS must be more than 0.")
    if config.output_retries < 0:
        problems.append("LLM_OUTPUT_RETRIES must be 0 or more.")
    if config.max_output_tokens < 1 or config.max_input_tokens < 1:
        problems.append("LLM_MAX_OUTPUT_TOKENS and LLM_MAX_INPUT_TOKENS must be at least 1.")
    prices = (config.price_input_per_mtok, config.price_output_per_mtok)
    if not all(price.is_finite() and price >= 0 for price in prices):
        problems.append(
            "LLM_PRICE_INPUT_PER_MTOK and LLM_PRICE_OUTPUT_PER_MTOK must be prices of 0 or more."
        )
    if config.provider == "offline":
        return problems
    if not config.model:
        problems.append(
            f"LLM_PROVIDER={config.provider} needs LLM_MODEL, the model's name "
            "(e.g. llama3.1 for Ollama, gpt-4o-mini for OpenAI, claude-sonnet-4-6 for Anthropic)."
        )
    if config.provider == "openai" and not config.base_url and not config.api_key:
        problems.append(
            "LLM_PROVIDER=openai without LLM_BASE_URL talks to OpenAI itself, which needs "
            "LLM_API_KEY. For a local server (Ollama, vLLM) set LLM_BASE_URL."
        )
    if config.provider == "anthropic" and not config.api_key:
        problems.append("LLM_PROVIDER=anthropic needs LLM_API_KEY.")
    return problems
