"""The agents' language model, one call for every provider.

``generate()`` asks the configured model (``LLM_PROVIDER``: the offline composer by
default, any OpenAI-compatible endpoint, or Anthropic) for one structured output, and
returns it validated, with its token usage and cost. Output that fails validation is sent
back to the model with the problems, up to ``LLM_OUTPUT_RETRIES`` times; still invalid, it
raises ``ModelOutputInvalid`` and is never passed on. The offline composer's output takes
the same validation path as a real model's.

Call it from sync code only (Celery tasks, services, tests): it drives its own event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .config import llm_config

T = TypeVar("T", bound=BaseModel)

__all__ = [
    "Generation",
    "ModelInputTooLarge",
    "ModelOutputInvalid",
    "ModelUnavailable",
    "generate",
    "max_cost_per_run",
    "model_label",
]


@dataclass(frozen=True)
class Generation(Generic[T]):
    output: T  # a validated instance of the output_type asked for
    model_label: str  # "offline composer", "openai-compatible · llama3.1", "anthropic · …"
    input_tokens: int
    output_tokens: int
    cost: Decimal  # at the configured prices; 0 for the offline composer
    attempts: int  # model requests made, retries included


class _GenerationFailed(Exception):
    """What the failed call still cost, so a run can record its spend."""

    def __init__(
        self,
        message: str,
        *,
        model_label: str,
        attempts: int = 0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost: Decimal = Decimal("0"),
    ):
        super().__init__(message)
        self.model_label, self.attempts = model_label, attempts
        self.input_tokens, self.output_tokens, self.cost = input_tokens, output_tokens, cost


class ModelOutputInvalid(_GenerationFailed):
    """The model's output was still invalid after the allowed retries. ``problems`` says
    what was wrong with the last attempt, one readable line each."""

    def __init__(self, message: str, *, problems: list[str], **spent: Any):
        super().__init__(message, **spent)
        self.problems = problems


class ModelUnavailable(_GenerationFailed):
    """The model could not answer: timeout, connection refused, an HTTP error."""


class ModelInputTooLarge(ValueError):
    """The prompt is over ``LLM_MAX_INPUT_TOKENS``; nothing was sent."""


def generate(
    *,
    agent: str,
    instructions: str,
    data: Mapping[str, Any],
    output_type: type[T],
    offline: Callable[[], T],
) -> Generation[T]:
    """Ask the configured model for one ``output_type``.

    ``instructions`` is fixed text we wrote. ``data`` is untrusted (briefs, brand memory,
    uploads): it is sent as a JSON document, framed and introduced as data, never as
    instructions. ``offline`` is called only by the offline composer, before the run.
    """
    from .runtime import run_generation

    return run_generation(
        config=llm_config(),
        agent=agent,
        instructions=instructions,
        data=data,
        output_type=output_type,
        offline=offline,
    )


def model_label() -> str:
    """How the UI names the configured model ("offline composer" for the default)."""
    return llm_config().label


def max_cost_per_run() -> Decimal:
    """The most one generate() call can cost at the configured prices (every retry at
    the largest prompt and max_tokens), for checking a spend cap before a run."""
    return llm_config().max_cost()
