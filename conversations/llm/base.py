"""The one interface every wording backend implements, and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Prompt:
    """What a backend is asked: chat messages for endpoints that take them, and the
    same content as one text for a local causal LM (`prompt.causal_text`)."""

    system: str
    user: str
    text: str
    template: str
    language: str
    max_new_tokens: int


class BackendError(Exception):
    """A backend could not answer; `reason` goes to metrics, `retryable` to the retry loop."""

    def __init__(self, reason: str, *, retryable: bool = False, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.retryable = retryable


class Backend(Protocol):
    name: str
    model: str

    def complete(self, prompt: Prompt, *, deadline: float) -> str:
        """The model's wording for `prompt`, before `deadline` (a `time.monotonic()`
        value) or a BackendError."""
        ...


class TemplateBackend:
    """No model: the grounded template answer, as the policy worded it."""

    name = "template"
    model = ""

    def complete(self, prompt: Prompt, *, deadline: float) -> str:
        return prompt.template
