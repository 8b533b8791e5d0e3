"""The `openai` backend: any OpenAI-compatible chat endpoint (vLLM, a hosted Qwen or
DeepSeek, OpenAI) through the official client.

Every call fits inside the stage deadline: each attempt's timeout is the time left,
retries (429, 5xx, timeouts, dropped connections) are bounded in number and stop when
the deadline is near, with exponential backoff and jitter (tenacity). Quota errors,
other 4xx and malformed answers are not retried. A circuit breaker (pybreaker) stops
calling an endpoint that keeps failing and lets one call through after a cool-down.
"""

from __future__ import annotations

import logging
import time

import openai
import pybreaker
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from conversations.llm.base import BackendError, Prompt
from csbot import metrics

log = logging.getLogger(__name__)

# Below this much time left, another attempt could not finish: stop retrying.
_MIN_ATTEMPT_S = 0.05
_QUOTA_CODES = {"insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"}


class _BreakerGauge(pybreaker.CircuitBreakerListener):
    def state_change(self, cb, old_state, new_state) -> None:
        metrics.llm_breaker_state.labels(backend="openai").set(
            1 if new_state.name == pybreaker.STATE_OPEN else 0
        )
        log.warning("LLM circuit breaker %s -> %s", old_state.name, new_state.name)


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        retries: int,
        backoff_s: float,
        breaker_failures: int,
        breaker_reset_s: float,
    ) -> None:
        if not base_url or not model:
            raise BackendError("unavailable", detail="CSBOT_LLM_OPENAI_BASE_URL and _MODEL")
        self.model = model
        self.retries = retries
        self.backoff_s = backoff_s
        # The client's own retries are off (they would ignore our deadline and retry
        # quota errors); its default 10-minute timeout is replaced per call.
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "unset", max_retries=0, timeout=2.0
        )
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=breaker_failures,
            reset_timeout=breaker_reset_s,
            listeners=[_BreakerGauge()],
            name=f"llm:{base_url}",
        )

    def complete(self, prompt: Prompt, *, deadline: float) -> str:
        def stop(state: RetryCallState) -> bool:
            out_of_time = deadline - time.monotonic() < _MIN_ATTEMPT_S
            return out_of_time or stop_after_attempt(self.retries + 1)(state)

        backoff = wait_exponential_jitter(multiplier=self.backoff_s, max=0.5, jitter=self.backoff_s)

        def wait(state: RetryCallState) -> float:
            left = deadline - time.monotonic() - _MIN_ATTEMPT_S
            return max(0.0, min(backoff(state), left))

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, BackendError) and exc.retryable:
                metrics.llm_retries_total.labels(reason=exc.reason).inc()
                return True
            return False

        retrying = Retrying(stop=stop, wait=wait, retry=retry_if_exception(retryable), reraise=True)
        try:
            return retrying(self._guarded, prompt, deadline)
        except pybreaker.CircuitBreakerError as exc:
            raise BackendError("breaker_open") from exc

    def _guarded(self, prompt: Prompt, deadline: float) -> str:
        return self.breaker.call(self._once, prompt, deadline)

    def _once(self, prompt: Prompt, deadline: float) -> str:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BackendError("timeout")
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": prompt.system},
                    {"role": "user", "content": prompt.user},
                ],
                max_tokens=prompt.max_new_tokens,
                temperature=0.3,
                timeout=left,
            )
        except openai.APITimeoutError as exc:
            raise BackendError("timeout", retryable=True) from exc
        except openai.RateLimitError as exc:
            if _is_quota(exc):
                raise BackendError("quota", detail=str(exc.code)) from exc
            raise BackendError("rate_limited", retryable=True) from exc
        except openai.APIResponseValidationError as exc:
            raise BackendError("malformed", detail=str(exc)) from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise BackendError("server_error", retryable=True) from exc
            if _is_quota(exc):
                raise BackendError("quota", detail=str(exc.code)) from exc
            raise BackendError("client_error", detail=str(exc.status_code)) from exc
        except openai.APIConnectionError as exc:
            raise BackendError("connection", retryable=True) from exc
        except (ValueError, TypeError) as exc:  # an unparseable body
            raise BackendError("malformed", detail=type(exc).__name__) from exc
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise BackendError("malformed", detail="no choices") from exc
        if not isinstance(content, str) or not content.strip():
            raise BackendError("malformed", detail="empty content")
        return content.strip()


def _is_quota(exc: openai.APIStatusError) -> bool:
    code = str(getattr(exc, "code", "") or "")
    body = exc.body if isinstance(exc.body, dict) else {}
    kind = str(body.get("type", "") or "")
    return code in _QUOTA_CODES or kind in _QUOTA_CODES
