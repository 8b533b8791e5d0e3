"""Supervised fine-tuning of a causal LM on `[{"prompt", "response"}]` rows, with the
loss on the response tokens only (prompt tokens are labelled -100). The result is a
model directory the `transformers` backend loads. Also builds the example data set
from the demo store's facts, in the prompt format the backend uses."""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

IGNORE = -100
DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "sft_demo.json"


class SftDataError(ValueError):
    """The data file is unusable; the message says where and why."""


def sft_data_load(*, path: Path) -> list[dict[str, str]]:
    """The rows of a data file, validated: a JSON list of objects, each with non-empty
    string `prompt` and `response`."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SftDataError(f"{path}: no such file") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SftDataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(rows, list) or not rows:
        raise SftDataError(f"{path}: expected a non-empty JSON list of objects")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise SftDataError(f"{path}: row {index} is not an object")
        for key in ("prompt", "response"):
            value = row.get(key)
            if not isinstance(value, str) or not value.strip():
                raise SftDataError(f"{path}: row {index} needs a non-empty string {key!r}")
    return [{"prompt": r["prompt"], "response": r["response"]} for r in rows]


def sft_example_encode(
    *, tokenizer: Any, prompt: str, response: str, max_length: int
) -> tuple[list[int], list[int]]:
    """Token ids and labels for one row: the prompt's labels are IGNORE, the response's
    (and the closing EOS) are their ids. A long prompt loses its start, not the response."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    response_ids = [*response_ids, tokenizer.eos_token_id][:max_length]
    room = max_length - len(response_ids)
    prompt_ids = prompt_ids[-room:] if room > 0 else []
    ids = prompt_ids + response_ids
    labels = [IGNORE] * len(prompt_ids) + response_ids
    return ids, labels


@dataclass(frozen=True)
class SftResult:
    examples: int
    steps: int
    loss_before: float
    loss_after: float
    out: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "steps": self.steps,
            "loss_before": round(self.loss_before, 4),
            "loss_after": round(self.loss_after, 4),
            "out": self.out,
        }


def _batches(
    encoded: list[tuple[list[int], list[int]]], size: int, pad_id: int, order: list[int]
) -> Iterator[dict[str, Any]]:
    import torch

    for start in range(0, len(order), size):
        chunk = [encoded[i] for i in order[start : start + size]]
        width = max(len(ids) for ids, _ in chunk)
        ids = [row + [pad_id] * (width - len(row)) for row, _ in chunk]
        labels = [lab + [IGNORE] * (width - len(lab)) for _, lab in chunk]
        mask = [[1] * len(row) + [0] * (width - len(row)) for row, _ in chunk]
        yield {
            "input_ids": torch.tensor(ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(mask),
        }


def sft_train(
    *,
    data: Path,
    base: Path,
    out: Path,
    epochs: int = 3,
    learning_rate: float = 5e-4,
    batch_size: int = 8,
    max_length: int = 512,
    max_steps: int | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> SftResult:
    """Fine-tune the model in `base` on `data` and save model and tokenizer to `out`
    (written to a temp dir first: a failed run leaves `out` untouched)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    rows = sft_data_load(path=data)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise SftDataError(f"{base}: not a model directory ({exc})") from exc
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.eos_token_id is None:
        raise SftDataError(f"{base}: the tokenizer has no end-of-sequence token")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    # transformers wraps `to` with functools.wraps, whose typeshed type does not bind self.
    model.to(device)  # type: ignore[arg-type]
    torch.manual_seed(seed)
    rng = random.Random(seed)

    encoded = [
        sft_example_encode(
            tokenizer=tokenizer, prompt=r["prompt"], response=r["response"], max_length=max_length
        )
        for r in rows
    ]

    def mean_loss() -> float:
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in _batches(
                encoded, batch_size, tokenizer.pad_token_id, list(range(len(encoded)))
            ):
                batch = {k: v.to(device) for k, v in batch.items()}
                n = int((batch["labels"][:, 1:] != IGNORE).sum())
                total += float(model(**batch).loss) * n
                count += n
        return total / max(1, count)

    before = mean_loss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    per_epoch = math.ceil(len(encoded) / batch_size)
    total_steps = per_epoch * epochs if max_steps is None else min(max_steps, per_epoch * epochs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: max(0.0, 1 - step / max(1, total_steps))
    )
    steps = 0
    model.train()
    while steps < total_steps:
        order = list(range(len(encoded)))
        rng.shuffle(order)
        for batch in _batches(encoded, batch_size, tokenizer.pad_token_id, order):
            batch = {k: v.to(device) for k, v in batch.items()}
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            steps += 1
            if progress and (steps % 10 == 0 or steps == total_steps):
                progress(f"step {steps}/{total_steps} loss {float(loss.detach()):.4f}")
            if steps >= total_steps:
                break
    after = mean_loss()

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".sft-", dir=out.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return SftResult(
        examples=len(encoded), steps=steps, loss_before=before, loss_after=after, out=str(out)
    )


# --- The example data set, from the demo store --------------------------------

_QUESTIONS = {
    "consult.product.price": {
        "zh": ["{name}多少钱", "{name}现在什么价格"],
        "en": ["how much is the {name}", "what does the {name} cost"],
    },
    "consult.product.stock": {
        "zh": ["{name}有货吗", "{name}还有库存吗"],
        "en": ["is the {name} in stock", "can I buy the {name} now"],
    },
    "consult.product.spec": {
        "zh": ["介绍一下{name}", "{name}有什么参数"],
        "en": ["tell me about the {name}", "what are the specs of the {name}"],
    },
}
_POLICY_QUESTIONS = {
    "consult.logistics.shipping_fee": ("运费怎么算", "how is shipping charged"),
    "consult.logistics.delivery_time": ("多久能发货", "when will my order ship"),
    "consult.payment.methods": ("可以用什么付款", "which payment methods do you take"),
    "consult.payment.installment": ("能分期付款吗", "can I pay in installments"),
    "consult.payment.invoice": ("怎么开发票", "how do I get an invoice"),
    "after_sales.product.return": ("可以退货吗", "can I return an item"),
    "after_sales.product.exchange": ("质量有问题能换吗", "can I exchange a faulty item"),
    "after_sales.product.warranty": ("保修多久", "how long is the warranty"),
    "after_sales.logistics.change_address": ("能改地址吗", "can I change the address"),
    "after_sales.payment.refund_status": ("退款多久到账", "how long does a refund take"),
    "after_sales.payment.price_protection": ("降价能退差价吗", "do you refund price drops"),
}
_OPENERS = {
    "zh": ["您好！", "亲，", "好的，", "感谢咨询，"],
    "en": ["Hi! ", "Sure. ", "Thanks for asking. ", "Happy to help. "],
}
_CLOSERS = {
    "zh": ["还有其他问题随时问我哦。", "希望对您有帮助～", "", "有需要再找我。"],
    "en": [
        " Anything else I can help with?",
        " Hope that helps!",
        "",
        " Just ask if you need more.",
    ],
}
