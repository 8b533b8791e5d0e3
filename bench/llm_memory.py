"""Memory of the local model with and without bitsandbytes quantization.

    .venv/bin/python bench/llm_memory.py [--layers 4] [--hidden 512]

Builds a tiny Llama-style model in a temp dir (no download) and loads it through the
`transformers` backend's loader three times: full precision, 8-bit and 4-bit (NF4).
For each it prints the model's weight footprint (`get_memory_footprint`), the process's
resident-memory growth while loading, and — when torch sees a GPU — the GPU memory
allocated after loading and after one generate. Ratios are against full precision,
measured in the same run. Each load runs in a fresh subprocess, so one does not hide
another's memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, gc
import torch, psutil
sys.path.insert(0, sys.argv[3])
from conversations.llm.local import model_load
proc = psutil.Process()
gc.collect()
before = proc.memory_info().rss
cuda = torch.cuda.is_available()
tokenizer, net, device = model_load(model_dir=sys.argv[1], device="auto", quantization=sys.argv[2])
gc.collect()
out = {
    "device": device,
    "footprint_mib": net.get_memory_footprint() / 2**20,
    "rss_growth_mib": (proc.memory_info().rss - before) / 2**20,
}
if cuda:
    torch.cuda.synchronize()
    out["gpu_allocated_mib"] = torch.cuda.memory_allocated() / 2**20
enc = tokenizer(["星河 X5 手机 售价多少"], return_tensors="pt").to(device)
with torch.inference_mode():
    net.generate(**enc, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)
if cuda:
    out["gpu_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
print("RESULT " + json.dumps(out))
"""


def measure(model_dir: Path, quantization: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(model_dir), quantization, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (done.stderr or done.stdout)[-800:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from conversations.llm.tiny import tiny_model_build

    texts = ["星河 X5 手机 售价 ¥2999。", "The Xinghe X5 Phone costs ¥2999."] * 50
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = tiny_model_build(
            out=Path(tmp) / "tiny", texts=texts, layers=args.layers, hidden=args.hidden
        )
        results = {q or "full": measure(model_dir, q) for q in ("", "8bit", "4bit")}
    full = results["full"]
    print(f"model: llama {args.layers} layers x {args.hidden}")
    header = f"{'load':<6} {'device':<6} {'weights MiB':>11} {'vs full':>8} {'RSS +MiB':>9}"
    gpu = "gpu_allocated_mib" in full
    if gpu:
        header += f" {'GPU MiB':>8} {'GPU peak':>9}"
    print(header)
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<6} failed: {r['error']}")
            continue
        ratio = r["footprint_mib"] / full["footprint_mib"] if "footprint_mib" in full else 0
        line = (
            f"{name:<6} {r['device']:<6} {r['footprint_mib']:>11.2f} {ratio:>7.2f}x"
            f" {r['rss_growth_mib']:>9.1f}"
        )
        if gpu:
            line += f" {r.get('gpu_allocated_mib', 0):>8.1f} {r.get('gpu_peak_mib', 0):>9.1f}"
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"layers": args.layers, "hidden": args.hidden, **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
