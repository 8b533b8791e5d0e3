"""The local `transformers` backend, batching, quantized loading and `sft_train`, on a
tiny model and tokenizer built here (no download): fine-tune a few steps, the loss
falls, the result loads through the backend and generates."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from conversations.llm import phrase
from conversations.llm.base import BackendError, Prompt
from conversations.llm.check import output_check
from conversations.llm.local import Batcher, model_load
from conversations.llm.registry import backend_get, backends_reset
from conversations.llm.sft import DEMO_DATA, IGNORE, sft_data_load, sft_example_encode
from conversations.llm.tiny import tiny_model_build

ROWS = json.loads(DEMO_DATA.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    texts = [r["prompt"] + r["response"] for r in ROWS]
    return tiny_model_build(
        out=tmp_path_factory.mktemp("llm") / "base", texts=texts, vocab_size=1500
    )


@pytest.fixture(scope="module")
def trained(tiny_base, tmp_path_factory) -> tuple[Path, dict, list[dict]]:
    """sft_train run once through the command on a dozen demo rows."""
    work = tmp_path_factory.mktemp("sft")
    rows = ROWS[:: len(ROWS) // 12][:12]
    data = work / "data.json"
    data.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    out = io.StringIO()
    call_command(
        "sft_train",
        "--data", str(data), "--base", str(tiny_base), "--out", str(work / "out"),
        "--epochs", "6", "--lr", "3e-3", "--batch-size", "4", "--max-length", "256",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return work / "out", json.loads(out.getvalue()), rows


@pytest.fixture(autouse=True)
def _plain_hooks(settings):
    """These tests exercise the wording layer alone: the built-in PII masking and no
    output filter (the configured ones, from the safety app, read the database)."""
    settings.CSBOT_LLM_MASKER = ""
    settings.CSBOT_LLM_OUTPUT_FILTER = ""


@pytest.fixture(autouse=True)
def _fresh_backends():
    backends_reset()
    yield
    backends_reset()


def test_the_shipped_demo_data_is_valid_and_grounded():
    rows = sft_data_load(path=DEMO_DATA)
    assert len(rows) == len(ROWS) >= 100
    langs = {"zh": 0, "en": 0}
    for row in rows:
        assert row["prompt"].endswith("\nAI助理:")
        template = row["prompt"].split("参考答案：")[-1].split("Reference answer: ")[-1]
        template = template.split("\n", 1)[0]
        lang = "zh" if "参考答案：" in row["prompt"] else "en"
        langs[lang] += 1
        # Every response would pass the backend's own output check against its prompt.
        refused = output_check(
            output=row["response"], allowed=[row["prompt"]], language=lang, template=template
        )
        assert refused is None, (refused, row["response"])
    assert langs["zh"] == langs["en"]


def test_loss_is_on_response_tokens_only(tiny_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    prompt, response = "用户:X5多少钱\nAI助理:", "星河 X5 售价 ¥2999。"
    ids, labels = sft_example_encode(
        tokenizer=tokenizer, prompt=prompt, response=response, max_length=512
    )
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    r = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert ids == p + r
    assert labels == [IGNORE] * len(p) + r
    # Too long: the prompt loses its start, the response is kept whole.
    ids, labels = sft_example_encode(
        tokenizer=tokenizer, prompt=prompt * 50, response=response, max_length=len(r) + 3
    )
    assert ids[-len(r) :] == r and labels == [IGNORE] * 3 + r


def test_sft_train_lowers_the_loss_and_the_backend_loads_and_generates(trained):
    out, result, rows = trained
    assert result["examples"] == 12 and result["steps"] == 18  # 3 batches x 6 epochs
    assert result["loss_after"] < result["loss_before"]
    assert (out / "config.json").exists() and (out / "tokenizer.json").exists()
    backend = backend_get(name="transformers", model=str(out))
    prompt = Prompt(
        system="", user="", text=rows[0]["prompt"], template="", language="zh", max_new_tokens=12
    )
    output = backend.complete(prompt, deadline=time.monotonic() + 120)
    assert isinstance(output, str) and output


def test_the_local_backend_misses_a_tiny_deadline_and_the_template_goes_out(trained, settings):
    out, _, _ = trained
    settings.CSBOT_LLM_BACKEND = "transformers"
    settings.CSBOT_LLM_MODEL_DIR = str(out)
    result = phrase(template="星河 X5 手机 售价 ¥2999。", language="zh", question="X5多少钱",
                    deadline_s=0.001)  # fmt: skip
    assert (result.text, result.source, result.reason) == (
        "星河 X5 手机 售价 ¥2999。",
        "fallback",
        "timeout",
    )


def test_a_missing_model_directory_falls_back(settings, tmp_path):
    settings.CSBOT_LLM_BACKEND = "transformers"
    settings.CSBOT_LLM_MODEL_DIR = str(tmp_path / "nothing-here")
    result = phrase(template="好的。", language="zh", question="你好", deadline_s=2.0)
    assert (result.text, result.source, result.reason) == ("好的。", "fallback", "unavailable")


@pytest.mark.parametrize(
    ("quantization", "layer"), [("8bit", "Linear8bitLt"), ("4bit", "Linear4bit")]
)
def test_quantized_loading_with_bitsandbytes(tiny_base, quantization, layer):
    tokenizer, net, device = model_load(
        model_dir=str(tiny_base), device="cpu", quantization=quantization
    )
    kinds = {type(m).__name__ for m in net.modules()}
    assert layer in kinds and device == "cpu"
    _, full, _ = model_load(model_dir=str(tiny_base), device="cpu")
    assert net.get_memory_footprint() < full.get_memory_footprint()
    encoded = tokenizer(["星河 X5"], return_tensors="pt")
    generated = net.generate(
        **encoded, max_new_tokens=3, do_sample=False, pad_token_id=tokenizer.pad_token_id
    )
    assert generated.shape[1] > encoded["input_ids"].shape[1]


def test_concurrent_requests_are_merged_into_batches():
    calls: list[list[str]] = []

    def generate(texts: list[str], max_new_tokens: int) -> list[str]:
        calls.append(list(texts))
        return [f"{t}!{max_new_tokens}" for t in texts]

    batcher = Batcher(generate, max_items=3, wait_ms=300)
    later = time.monotonic() + 60
    futures = [batcher.submit(f"q{i}", max_new_tokens=5, deadline=later) for i in range(7)]
    assert [f.result(timeout=30) for f in futures] == [f"q{i}!5" for i in range(7)]
    assert [len(c) for c in calls] == [3, 3, 1]
    batcher.close()


def test_requests_past_their_deadline_cost_no_generate():
    calls: list[list[str]] = []
    gate = threading.Event()

    def generate(texts: list[str], max_new_tokens: int) -> list[str]:
        gate.wait(30)
        calls.append(list(texts))
        return texts

    batcher = Batcher(generate, max_items=1, wait_ms=0)
    first = batcher.submit("busy", max_new_tokens=1, deadline=time.monotonic() + 60)
    late = batcher.submit("late", max_new_tokens=1, deadline=time.monotonic() + 0.05)
    time.sleep(0.1)  # let the second request's deadline pass while the first runs
    gate.set()
    assert first.result(timeout=30) == "busy"
    with pytest.raises(BackendError, match="timeout"):
        late.result(timeout=30)
    assert calls == [["busy"]]
    batcher.close()


def test_a_failing_generate_fails_its_batch_and_the_batcher_goes_on():
    def generate(texts: list[str], max_new_tokens: int) -> list[str]:
        if "boom" in texts:
            raise RuntimeError("CUDA out of memory")
        return texts

    batcher = Batcher(generate, max_items=1, wait_ms=0)
    later = time.monotonic() + 60
    bad = batcher.submit("boom", max_new_tokens=1, deadline=later)
    good = batcher.submit("fine", max_new_tokens=1, deadline=later)
    with pytest.raises(BackendError, match="error"):
        bad.result(timeout=30)
    assert good.result(timeout=30) == "fine"
    batcher.close()


def test_sft_train_refuses_bad_data_and_writes_nothing(tiny_base, tmp_path):
    cases = {
        "not_json.json": "{nope",
        "not_list.json": '{"prompt": "a", "response": "b"}',
        "missing.json": json.dumps([{"prompt": "用户:你好\nAI助理:", "response": "您"}, {"x": 1}]),
    }  # fmt: skip
    messages = {
        "not_json.json": "not valid JSON",
        "not_list.json": "expected a non-empty JSON list",
        "missing.json": "row 1 needs a non-empty string 'prompt'",
    }
    for name, content in cases.items():
        data = tmp_path / name
        data.write_text(content, encoding="utf-8")
        out = tmp_path / f"out-{name}"
        with pytest.raises(CommandError, match=messages[name]):
            call_command("sft_train", "--data", str(data), "--base", str(tiny_base),
                         "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
        assert not out.exists()


def test_sft_train_refuses_to_overwrite_its_base(tiny_base):
    before = sorted(p.name for p in tiny_base.iterdir())
    with pytest.raises(CommandError, match="--out must differ from --base"):
        call_command("sft_train", "--data", str(DEMO_DATA), "--base", str(tiny_base),
                     "--out", str(tiny_base), stdout=io.StringIO())  # fmt: skip
    assert sorted(p.name for p in tiny_base.iterdir()) == before
