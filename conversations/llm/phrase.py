"""`phrase`: the wording stage of the reply pipeline.

The policy has fetched the facts and worded a grounded template answer. A model
(per the A/B arm, or the setting) may rephrase it: the prompt carries the facts, the
template answer and the shopper's question with PII masked; the output must pass
`output_check`. The stage waits at most the deadline (1.2 s by default, never more
than 2 s); on any failure, timeout or refused output the template answer goes out,
with the reason recorded. Checked model answers are cached per arm for 10 minutes.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string

from conversations.llm.base import BackendError
from conversations.llm.check import OutputFilter, output_check
from conversations.llm.prompt import facts_text, prompt_build
from conversations.llm.registry import backend_get
from csbot import metrics

log = logging.getLogger(__name__)

Masker = Callable[[str], str]
PROMPT_VERSION = "1"
_CACHE_PREFIX = "llm:answer:"

_disabled: contextvars.ContextVar[bool] = contextvars.ContextVar("llm_disabled", default=False)
_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class PhraseRequest:
    """One answer to word. `question` is the shopper's text (masked here unless the
    caller masked it); `backend`/`model`/`instructions` come from the A/B arm."""

    template: str
    language: str
    question: str
    facts: dict[str, Any] = field(default_factory=dict)
    arm_key: str = ""
    backend: str | None = None
    model: str | None = None
    instructions: str | None = None


@dataclass(frozen=True)
class Phrased:
    """The text to send and where it came from: `source` is "template" (no model
    configured), "model", "cache" or "fallback" (then `reason` says why)."""

    text: str
    source: str
    backend: str
    reason: str | None = None


@contextlib.contextmanager
def llm_disabled() -> Iterator[None]:
    """Within this block every answer is the template one (a task redelivered after
    its worker died: the model may be what killed it)."""
    token = _disabled.set(True)
    try:
        yield
    finally:
        _disabled.reset(token)


def phrase(
    *,
    template: str,
    language: str,
    question: str,
    facts: dict[str, Any] | None = None,
    arm_key: str = "",
    backend: str | None = None,
    model: str | None = None,
    instructions: str | None = None,
    masker: Masker | None = None,
    output_filter: OutputFilter | None = None,
    deadline_s: float | None = None,
) -> Phrased:
    """Word one answer (see `phrases_make`)."""
    request = PhraseRequest(
        template=template,
        language=language,
        question=question,
        facts=facts or {},
        arm_key=arm_key,
        backend=backend,
        model=model,
        instructions=instructions,
    )
    return phrases_make(
        requests=[request], masker=masker, output_filter=output_filter, deadline_s=deadline_s
    )[0]


def phrases_make(
    *,
    requests: Sequence[PhraseRequest],
    masker: Masker | None = None,
    output_filter: OutputFilter | None = None,
    deadline_s: float | None = None,
) -> list[Phrased]:
    """Word a batch of answers concurrently under one deadline (so a batch of replies
    waits no longer than one); results in input order, each one sendable."""
    started = time.monotonic()
    limit = settings.CSBOT_LLM_DEADLINE_S if deadline_s is None else deadline_s
    deadline = started + min(limit, settings.CSBOT_LLM_MAX_WAIT_S)
    masker = masker or _setting_callable(settings.CSBOT_LLM_MASKER) or mask_basic
    output_filter = output_filter or _setting_callable(settings.CSBOT_LLM_OUTPUT_FILTER)

    results: list[Phrased | None] = [None] * len(requests)
    todo: list[tuple[int, str, str, Any]] = []  # index, backend name, cache key, prompt
    for index, request in enumerate(requests):
        name = request.backend or settings.CSBOT_LLM_BACKEND
        if name == "template":
            results[index] = Phrased(text=request.template, source="template", backend=name)
            metrics.llm_requests_total.labels(backend=name, result="template").inc()
            continue
        if _disabled.get():
            results[index] = _fallback(request, name, "disabled")
            continue
        question = masker(request.question)
        prompt = prompt_build(
            shop=settings.CSBOT_SHOP_NAME,
            facts=request.facts,
            template=request.template,
            language=request.language,
            question=question,
            instructions=request.instructions,
            max_new_tokens=settings.CSBOT_LLM_MAX_NEW_TOKENS,
        )
        todo.append((index, name, _cache_key(request, name, question), prompt))

    ttl = settings.CSBOT_LLM_CACHE_TTL_S
    hits = cache.get_many([key for _, _, key, _ in todo]) if ttl and todo else {}
    pending: dict[Future, tuple[int, str, str, Any]] = {}
    for item in todo:
        index, name, key, prompt = item
        if key in hits:
            results[index] = Phrased(text=hits[key], source="cache", backend=name)
            metrics.llm_requests_total.labels(backend=name, result="cached").inc()
            continue
        request = requests[index]
        future = _pool().submit(_complete, name, request.model, prompt, deadline)
        pending[future] = item

    if pending:
        futures_wait(list(pending), timeout=max(0.0, deadline - time.monotonic()))
    fresh: dict[str, str] = {}
    for future, (index, name, key, prompt) in pending.items():
        request = requests[index]
        metrics.llm_latency_seconds.labels(backend=name).observe(time.monotonic() - started)
        if not future.done():
            future.cancel()
            results[index] = _fallback(request, name, "timeout")
            continue
        try:
            output = future.result()
        except BackendError as exc:
            results[index] = _fallback(request, name, exc.reason)
            continue
        except Exception:  # a backend bug must cost one answer its wording, nothing more
            log.exception("LLM backend %s failed", name)
            results[index] = _fallback(request, name, "error")
            continue
        refused = output_check(
            output=output,
            allowed=[facts_text(request.facts), request.template],
            language=prompt.language,
            template=request.template,
            output_filter=output_filter,
        )
        if refused:
            results[index] = _fallback(request, name, refused)
            continue
        results[index] = Phrased(text=output, source="model", backend=name)
        metrics.llm_requests_total.labels(backend=name, result="model").inc()
        fresh[key] = output
    if fresh and ttl:
        cache.set_many(fresh, timeout=ttl)
    return [r for r in results if r is not None]


def _complete(name: str, model: str | None, prompt: Any, deadline: float) -> str:
    # Looked up here, in the pool: loading a local model must not hold the reply.
    backend = backend_get(name=name, model=model)
    return backend.complete(prompt, deadline=deadline)


def _fallback(request: PhraseRequest, backend: str, reason: str) -> Phrased:
    metrics.llm_requests_total.labels(backend=backend, result="fallback").inc()
    metrics.llm_fallbacks_total.labels(backend=backend, reason=reason.split(":", 1)[0]).inc()
    return Phrased(text=request.template, source="fallback", backend=backend, reason=reason)


def _cache_key(request: PhraseRequest, backend: str, question: str) -> str:
    """Same arm, backend, model, prompt, language, question and context -> same key."""
    material = json.dumps(
        [
            PROMPT_VERSION,
            request.arm_key,
            backend,
            request.model or "",
            request.instructions or "",
            request.language,
            " ".join(question.split()).lower(),
            request.template,
            request.facts,
        ],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return _CACHE_PREFIX + hashlib.sha256(material.encode()).hexdigest()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="csbot-llm")
        return _executor


_callables: dict[str, Callable] = {}


def _setting_callable(path: str) -> Callable | None:
    if not path:
        return None
    if path not in _callables:
        _callables[path] = import_string(path)
    return _callables[path]


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_ID_CARD = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")


def mask_basic(text: str) -> str:
    """The minimum masking when no masker is configured: e-mail addresses, Chinese
    ID-card and mobile numbers never leave for a model."""
    text = _EMAIL.sub("[email]", text)
    text = _ID_CARD.sub("[id]", text)
    return _MOBILE.sub("[phone]", text)
