"""train_intents / eval_intents / intents_build_data through call_command."""

import json
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from intents.tests.test_classifier import make_rows


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("intents")
    valid = make_rows(["手柄"], ["speaker"]) + [
        {"text": "今天天气怎么样", "label": "oos"},
        {"text": "tell me a joke", "label": "oos"},
    ]
    return {
        "tmp": tmp,
        "train": write_jsonl(tmp / "train.jsonl", make_rows()),
        "valid": write_jsonl(tmp / "valid.jsonl", valid),
    }


@pytest.fixture(scope="module")
def model_dir(files):
    """`manage.py train_intents` as an operator runs it, in a process of its own (see
    train_fresh in test_classifier.py for why the suite's process is avoided)."""
    out = files["tmp"] / "model"
    args = ["--data", str(files["train"]), "--valid", str(files["valid"]), "--out", str(out)]
    for _attempt in range(3):
        result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "train_intents", *args],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if "Encountered NaN" not in result.stderr:
            break
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(f"Wrote the intent model to {out}\n")
    assert "valid: {" in result.stdout
    return out


def test_train_intents_writes_a_loadable_model(model_dir):
    meta = json.loads((model_dir / "meta.json").read_text())
    assert meta["labels"] == [
        "after_sales.product.return", "consult.logistics.order_status", "consult.product.price",
    ]  # fmt: skip
    assert sorted(p.name for p in model_dir.iterdir()) == sorted([
        *(f"member-{i}.bin" for i in range(6)),
        *(f"member-{i}.centroids.npy" for i in range(6)),
        "meta.json",
    ])  # fmt: skip


def test_eval_intents_prints_one_json_line(model_dir, files):
    # Six price questions, and an out-of-scope row the model surely takes for a return.
    rows = make_rows()[:6] + [{"text": "i want to return the kite", "label": "oos"}]
    data = write_jsonl(files["tmp"] / "eval.jsonl", rows)
    printed = run("eval_intents", "--model", model_dir, "--data", data, "--threshold", "0")
    assert printed.count("\n") == 1
    # Threshold 0: everything is answered, so no handoff and no oos caught; the training
    # sentences themselves are all right.
    assert json.loads(printed) == {
        "in_scope_accuracy": 1.0,
        "handoff_share": 0.0,
        "oos_recall": 0.0,
        "macro_f1": 0.5,  # F1 of the gold labels: consult.product.price 1.0, oos 0.0
        "threshold": 0.0,
    }
    per_label = json.loads(
        run("eval_intents", "--model", model_dir, "--data", data, "--threshold", "0", "--per-label")
    )
    assert per_label["per_label"] == {
        "consult.product.price": {"n": 6, "top1": 1.0, "accuracy": 1.0},
        "oos": {"n": 1, "top1": None, "accuracy": 0.0},  # answered at threshold 0: not caught
    }
    everything_handed_off = json.loads(
        run("eval_intents", "--model", model_dir, "--data", data, "--threshold", "1")
    )
    assert everything_handed_off["in_scope_accuracy"] == 0.0
    assert everything_handed_off["handoff_share"] == 1.0
    assert everything_handed_off["oos_recall"] == 1.0


def test_eval_intents_threshold_sources(model_dir, files):
    meta = json.loads((model_dir / "meta.json").read_text())
    stored = json.loads(run("eval_intents", "--model", model_dir, "--data", files["valid"]))
    assert stored["threshold"] == meta["threshold"]
    assert stored["oos_recall"] is not None
    no_oos = write_jsonl(files["tmp"] / "no_oos.jsonl", make_rows()[:10])
    rechosen = json.loads(
        run("eval_intents", "--model", model_dir, "--data", files["valid"], "--valid", no_oos)
    )
    assert rechosen["threshold"] <= 0.7
    in_scope_only = json.loads(run("eval_intents", "--model", model_dir, "--data", no_oos))
    assert in_scope_only["oos_recall"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "no rows (the file is empty)"),
        ('{"text": "a", "label": "x"}\nnot json\n', "line 2: not valid JSON"),
        ('{"text": "a", "label": "x"}\n{"label": "y"}\n', "line 2: missing 'text'"),
        ('{"text": "a"}\n', "line 1: missing or empty 'label'"),
        ('["a", "x"]\n', "line 1: expected a JSON object"),
        ('{"text": "a", "label": "x"}\n{"text": "b", "label": "oos"}\n', "at least 2 labels"),
    ],
)
def test_train_intents_refuses_bad_data(files, content, message):
    path = files["tmp"] / "bad.jsonl"
    path.unlink(missing_ok=True)
    if content is not None:
        path.write_text(content)
    out = files["tmp"] / "refused"
    with pytest.raises(CommandError, match=re.escape(message)):
        run("train_intents", "--data", path, "--out", out)
    assert not out.exists()


def test_eval_intents_refuses_a_missing_model_or_bad_data(model_dir, files):
    with pytest.raises(CommandError, match="meta.json missing"):
        run("eval_intents", "--model", files["tmp"] / "nowhere", "--data", files["valid"])
    bad = files["tmp"] / "bad-eval.jsonl"
    bad.write_text('{"text": "a", "label": "x"}\n{oops\n')
    with pytest.raises(CommandError, match="line 2: not valid JSON"):
        run("eval_intents", "--model", model_dir, "--data", bad)
    with pytest.raises(CommandError, match="between 0 and 1"):
        run("eval_intents", "--model", model_dir, "--data", files["valid"], "--threshold", "7")


def test_intents_build_data_writes_the_splits(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "general.chat.greeting.en.txt").write_text("\n".join(f"hi {i}" for i in range(20)))
    (src / "oos.zh.txt").write_text("\n".join(f"天气{i}" for i in range(10)))
    printed = run("intents_build_data", "--src", src, "--out", tmp_path)
    assert json.loads(printed.splitlines()[0]) == {
        "train": 13,
        "valid": 0,
        "heldout": 7,
        "oos_valid": 6,
        "oos_heldout": 4,
    }  # fmt: skip  (each row placed by its own hash: 20 rows do not split 65/12/23 exactly)
    with pytest.raises(CommandError, match="no <label>.<zh|en>.txt source files"):
        run("intents_build_data", "--src", tmp_path / "empty", "--out", tmp_path)
