"""The `transformers` backend: a local causal LM directory, on the GPU when there is
one, optionally loaded in 8-bit or 4-bit with bitsandbytes.

Concurrent requests are merged into one batched `generate` call (`Batcher`): up to
CSBOT_LLM_BATCH_MAX prompts, or whatever arrived within CSBOT_LLM_BATCH_WAIT_MS of the
first. A request whose deadline has passed is dropped before it costs a forward pass;
the caller has already sent the template answer.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from conversations.llm.base import BackendError, Prompt
from csbot import metrics

log = logging.getLogger(__name__)

MAX_PROMPT_TOKENS = 768


@dataclass
class _Item:
    text: str
    max_new_tokens: int
    deadline: float
    future: Future = field(default_factory=Future)


class Batcher:
    """Collects requests from many threads and runs them through `generate` in batches.
    `generate(texts, max_new_tokens) -> outputs` runs on the batcher's own thread."""

    def __init__(
        self,
        generate: Callable[[list[str], int], list[str]],
        *,
        max_items: int,
        wait_ms: float,
        name: str = "csbot-llm-batch",
    ) -> None:
        self.generate = generate
        self.max_items = max(1, max_items)
        self.wait_s = max(0.0, wait_ms) / 1000
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, text: str, *, max_new_tokens: int, deadline: float) -> Future:
        item = _Item(text=text, max_new_tokens=max_new_tokens, deadline=deadline)
        self._queue.put(item)
        return item.future

    def close(self) -> None:
        self._queue.put(None)

    def _collect(self) -> list[_Item] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        until = time.monotonic() + self.wait_s
        while len(batch) < self.max_items:
            left = until - time.monotonic()
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            batch.append(item)
        return batch

    def _run(self) -> None:
        while True:
            batch = self._collect()
            if batch is None:
                return
            now = time.monotonic()
            live = []
            for item in batch:
                if not item.future.set_running_or_notify_cancel():
                    continue  # cancelled by its caller
                if item.deadline <= now:
                    item.future.set_exception(BackendError("timeout"))
                    continue
                live.append(item)
            if not live:
                continue
            metrics.llm_batch_size.observe(len(live))
            try:
                outputs = self.generate([i.text for i in live], max(i.max_new_tokens for i in live))
            except Exception as exc:  # the batch fails, the batcher lives on
                log.exception("batched generate failed")
                for item in live:
                    item.future.set_exception(BackendError("error", detail=type(exc).__name__))
                continue
            for item, output in zip(live, outputs, strict=True):
                item.future.set_result(output)


class TransformersBackend:
    name = "transformers"

    def __init__(
        self,
        *,
        model_dir: str,
        device: str = "auto",
        quantization: str = "",
        batch_max: int = 16,
        batch_wait_ms: float = 10.0,
    ) -> None:
        self.model = model_dir
        self.tokenizer, self.net, self.device = model_load(
            model_dir=model_dir, device=device, quantization=quantization
        )
        self.batcher = Batcher(self.generate, max_items=batch_max, wait_ms=batch_wait_ms)

    def complete(self, prompt: Prompt, *, deadline: float) -> str:
        future = self.batcher.submit(
            prompt.text, max_new_tokens=prompt.max_new_tokens, deadline=deadline
        )
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout as exc:
            future.cancel()
            raise BackendError("timeout") from exc

    def generate(self, texts: list[str], max_new_tokens: int) -> list[str]:
        """One batched, greedy generate; returns only the new text of each prompt."""
        import torch

        encoded = self.tokenizer(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=MAX_PROMPT_TOKENS,
        ).to(self.device)
        with torch.inference_mode():
            output = self.net.generate(
                **encoded,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = output[:, encoded["input_ids"].shape[1] :]
        return [text.strip() for text in self.tokenizer.batch_decode(new, skip_special_tokens=True)]

    def close(self) -> None:
        self.batcher.close()


def model_load(*, model_dir: str, device: str = "auto", quantization: str = ""):
    """Tokenizer (left padding, for batched generation), model and device. `device`
    "auto" takes the GPU when torch sees one; quantization "8bit"/"4bit" loads the
    weights through bitsandbytes."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    except (OSError, ValueError) as exc:
        raise BackendError("unavailable", detail=f"no tokenizer in {model_dir}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    kwargs: dict = {}
    if quantization:
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if device == "cuda" else torch.float32
        kwargs["quantization_config"] = (
            BitsAndBytesConfig(load_in_8bit=True)
            if quantization == "8bit"
            else BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute
            )
        )
        kwargs["device_map"] = {"": device}
    elif device == "cuda":
        kwargs["dtype"] = torch.bfloat16
    try:
        net = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    except (OSError, ValueError) as exc:
        raise BackendError("unavailable", detail=f"cannot load {model_dir}: {exc}") from exc
    if not quantization:
        # transformers wraps `to` with functools.wraps, whose typeshed type does not bind self.
        net = net.to(device)  # type: ignore[arg-type]
    net.eval()
    log.info("local LLM %s loaded on %s (%s)", model_dir, device, quantization or "full precision")
    return tokenizer, net, device
