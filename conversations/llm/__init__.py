"""LLM wording for replies: one backend interface (`template`, `openai`,
`transformers`), deadlines with template fallback, output checks, a per-arm cache."""

from conversations.llm.phrase import (
    Phrased,
    PhraseRequest,
    llm_disabled,
    mask_basic,
    phrase,
    phrases_make,
)

__all__ = ["PhraseRequest", "Phrased", "llm_disabled", "mask_basic", "phrase", "phrases_make"]
