"""One backend instance per configuration and process (clients, breakers and loaded
models are kept); an A/B arm may name another backend or model."""

from __future__ import annotations

import threading

from django.conf import settings

from conversations.llm.base import Backend, BackendError, TemplateBackend

_lock = threading.Lock()
_backends: dict[tuple, Backend] = {}

BACKENDS = ("template", "openai", "transformers")


def backend_get(*, name: str | None = None, model: str | None = None) -> Backend:
    """The backend called `name` (the setting when None), for `model` (a model name
    for `openai`, a directory for `transformers`; the setting when empty).
    BackendError("unavailable") when it is unknown or not configured."""
    name = name or settings.CSBOT_LLM_BACKEND
    if name == "template":
        return TemplateBackend()
    if name == "openai":
        key: tuple = (
            name,
            model or settings.CSBOT_LLM_OPENAI_MODEL,
            settings.CSBOT_LLM_OPENAI_BASE_URL,
            settings.CSBOT_LLM_OPENAI_API_KEY,
            settings.CSBOT_LLM_OPENAI_RETRIES,
            settings.CSBOT_LLM_RETRY_BACKOFF_S,
            settings.CSBOT_LLM_BREAKER_FAILURES,
            settings.CSBOT_LLM_BREAKER_RESET_S,
        )
    elif name == "transformers":
        key = (
            name,
            model or settings.CSBOT_LLM_MODEL_DIR,
            settings.CSBOT_LLM_DEVICE,
            settings.CSBOT_LLM_QUANTIZATION,
            settings.CSBOT_LLM_BATCH_MAX,
            settings.CSBOT_LLM_BATCH_WAIT_MS,
        )
    else:
        raise BackendError("unavailable", detail=f"unknown backend {name!r}")
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _backends[key] = _build(key)
        return backend


def _build(key: tuple) -> Backend:
    if key[0] == "openai":
        # Imported when configured: the `openai` client (with tenacity and pybreaker) is
        # an optional install (requirements-llm.txt) that template-only shops skip.
        from conversations.llm.openai_backend import OpenAIBackend

        _, model, base_url, api_key, retries, backoff, failures, reset = key
        return OpenAIBackend(
            base_url=base_url,
            api_key=api_key,
            model=model,
            retries=retries,
            backoff_s=backoff,
            breaker_failures=failures,
            breaker_reset_s=reset,
        )
    # Imported when configured: the local backend loads torch and transformers, heavy
    # optional packages that only a GPU worker running its own model installs.
    from conversations.llm.local import TransformersBackend

    _, model_dir, device, quantization, batch_max, wait_ms = key
    if not model_dir:
        raise BackendError("unavailable", detail="CSBOT_LLM_MODEL_DIR is not set")
    return TransformersBackend(
        model_dir=model_dir,
        device=device,
        quantization=quantization,
        batch_max=batch_max,
        batch_wait_ms=wait_ms,
    )


def backends_reset() -> None:
    """Forget every backend (tests; a changed model directory)."""
    with _lock:
        for backend in _backends.values():
            close = getattr(backend, "close", None)
            if close is not None:
                close()
        _backends.clear()


def llm_describe(conf) -> str:
    """One line naming the wording mode, for start-up logs."""
    name = conf.CSBOT_LLM_BACKEND
    if name == "openai":
        where = f" model={conf.CSBOT_LLM_OPENAI_MODEL} url={conf.CSBOT_LLM_OPENAI_BASE_URL}"
    elif name == "transformers":
        quant = conf.CSBOT_LLM_QUANTIZATION or "none"
        where = f" dir={conf.CSBOT_LLM_MODEL_DIR} device={conf.CSBOT_LLM_DEVICE} quant={quant}"
    else:
        where = ""
    return f"llm={name}{where} deadline={conf.CSBOT_LLM_DEADLINE_S}s"


def backends_warm() -> None:
    """Build the configured backend now (client import, model load), so the first
    shopper's answer does not spend its deadline on it. Failures are logged only."""
    import logging

    try:
        backend_get()
    except BackendError as exc:
        logging.getLogger(__name__).warning("LLM backend not ready: %s", exc)
