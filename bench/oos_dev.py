"""Out-of-scope separation on development data only: which confidence features help.

    nice -n 10 .venv/bin/python bench/oos_dev.py train clinc150 [--root ../shared/benchmarks]
    .venv/bin/python bench/oos_dev.py report clinc150 banking77_oos banking77 own

`train` repeats the classifier's cross-fit (two half-ensembles, each trained on train + the
in-scope valid rows of one hash fold) and caches, for every member, the sentence vectors of
its own training rows and of the rows it scores out of fold, plus its output matrix
(/tmp/oos_dev/<name>.npz). Never reads a test split or the project's held-out files.

Dev rows: the out-of-fold valid rows, plus (CLINC150, BANKING77-OOS) the train split's
`oos` rows as extra *evaluation* oos (never trained on). `report` splits the dev rows in two
by another hash, fits the confidence (logistic regression over the chosen features, target
"top label right") and the 1% max_loss threshold on one half, measures the other, and sums
both directions; AUROC is correct in-scope vs oos over all dev rows (raw linear score of the
fit, also cross-fitted).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intents.classifier import OOS, IntentClassifier, choose_threshold, read_jsonl  # noqa: E402
from intents.classifier.params import token_options  # noqa: E402
from intents.classifier.tokenize import tokenized  # noqa: E402
from intents.classifier.training import crossfit_fold  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "oos_dev"


def load_data(
    name: str, root: Path, oos_class: bool = False
) -> tuple[list[dict], list[dict], list[dict]]:
    """(training rows, valid rows, extra evaluation oos rows). With `oos_class`, the train
    split's oos rows are trained on as a class, so they are no evaluation rows."""
    if name == "own":
        data = ROOT / "intents" / "data"
        train = read_jsonl(data / "train.jsonl")
        valid = read_jsonl(data / "valid.jsonl") + read_jsonl(data / "oos_valid.jsonl")
    else:
        train = read_jsonl(root / name / "train.jsonl")
        valid = read_jsonl(root / name / "valid.jsonl")
    extra = [r for r in train if r["label"] == OOS]
    if oos_class:
        return train, valid, []
    train = [r for r in train if r["label"] != OOS]
    return train, valid, extra


def hidden(clf: IntentClassifier, texts: list[str]) -> list[np.ndarray]:
    out = []
    for model, config in zip(clf.members, clf.member_configs, strict=True):
        toks = [tokenized(t, **token_options(config)) for t in texts]
        out.append(np.stack([model.get_sentence_vector(t) for t in toks]).astype(np.float32))
    return out


def train(name: str, root: Path, params: dict) -> None:
    oos_class = bool(params.get("oos_class"))
    rows, valid, extra = load_data(name, root, oos_class)
    labels = sorted({r["label"] for r in rows})
    known = [r for r in valid if r["label"] in labels and r["label"] != OOS]
    rest = [r for r in valid if r not in known] + extra
    folds: tuple[list, list] = ([], [])
    for r in known:
        folds[crossfit_fold(r["text"])].append(r)
    others: tuple[list, list] = ([], [])
    for r in rest:
        others[crossfit_fold(r["text"])].append(r)
    arrays: dict[str, np.ndarray] = {}
    for k in (0, 1):
        train_rows = rows + folds[k]
        clf = IntentClassifier.train(train_rows, None, crossfit=False, **params)
        assert clf.labels == labels
        scored = folds[1 - k] + others[1 - k]
        for i, (h_train, h_eval) in enumerate(
            zip(
                hidden(clf, [r["text"] for r in train_rows]),
                hidden(clf, [r["text"] for r in scored]),
                strict=True,
            )
        ):
            arrays[f"h{k}_train_{i}"] = h_train
            arrays[f"h{k}_eval_{i}"] = h_eval
            arrays[f"w{k}_{i}"] = clf._outputs[i]
        arrays[f"y{k}_train"] = np.array([labels.index(r["label"]) for r in train_rows])
        arrays[f"gold{k}"] = np.array([r["label"] for r in scored])
        arrays[f"extra{k}"] = np.array([r in extra for r in scored])
        arrays[f"text{k}"] = np.array([r["text"] for r in scored])
        arrays[f"nmembers{k}"] = np.array(len(clf.members))
    arrays["labels"] = np.array(labels)
    CACHE.mkdir(exist_ok=True)
    tag = name + ("_oosclass" if oos_class else "")
    np.savez_compressed(CACHE / f"{tag}.npz", **arrays)
    print(f"cached {CACHE / tag}.npz")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def features(d, k: int, vocab: set | None = None) -> dict[str, np.ndarray]:
    """Per scored row of half k: candidate features, averaged over the half's members."""
    labels = d["labels"]
    m = int(d[f"nmembers{k}"])
    y = d[f"y{k}_train"]
    each = np.stack([d[f"h{k}_eval_{i}"] @ d[f"w{k}_{i}"].T for i in range(m)])
    logits = each.mean(0)
    top = logits.argmax(1)
    rows_ = np.arange(len(top))
    member_top = each[:, rows_, top]  # (m, n)
    agree = np.mean(each.argmax(2) == top[None, :], axis=0)
    srt = np.sort(logits, axis=1)
    f = {
        "z": srt[:, -1],
        "margin": srt[:, -1] - srt[:, -2],
        "ova_sum": np.log(np.sum(1 / (1 + np.exp(-np.clip(logits, -50, 50))), axis=1)),
        "member_min": member_top.min(0),
        "member_std": member_top.std(0),
        "agree": agree,
    }
    if vocab is not None:
        toks = [tokenized(t, cjk_chars=True, cjk_bigrams=True).split() for t in d[f"text{k}"]]
        f["known"] = np.array([np.mean([w in vocab for w in ts]) if ts else 0.0 for ts in toks])
    cen_pred, cen_max, knn1, knn5, knnp1, knnp5, norm = ([] for _ in range(7))
    for i in range(m):
        ht = _unit(d[f"h{k}_train_{i}"])
        he = d[f"h{k}_eval_{i}"]
        norm.append(np.linalg.norm(he, axis=1))
        he = _unit(he)
        cents = _unit(np.stack([ht[y == j].mean(0) for j in range(len(labels))]))
        cs = he @ cents.T
        cen_pred.append(cs[np.arange(len(he)), top])
        cen_max.append(cs.max(1))
        sims = he @ ht.T
        part = np.sort(sims, axis=1)[:, -5:]
        knn1.append(part[:, -1])
        knn5.append(part.mean(1))
        same = np.where(y[None, :] == top[:, None], sims, -2.0)
        sp = np.sort(same, axis=1)[:, -5:]
        knnp1.append(sp[:, -1])
        knnp5.append(sp.mean(1))
    f.update(
        centroid=np.mean(cen_pred, 0),
        centroid_max=np.mean(cen_max, 0),
        knn1=np.mean(knn1, 0),
        knn5=np.mean(knn5, 0),
        knn_label1=np.mean(knnp1, 0),
        knn_label5=np.mean(knnp5, 0),
        norm=np.mean(norm, 0),
    )
    return f, labels[top]


def fit_logistic(x: np.ndarray, correct: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """Weights (bias last) of a logistic regression with Platt's smoothed targets."""
    x = np.column_stack([x, np.ones(len(x))])
    y = correct.astype(bool)
    t = np.where(y, (y.sum() + 1) / (y.sum() + 2), 1 / ((~y).sum() + 2))
    w = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ w)))
        g = x.T @ (p - t) + ridge * w
        h = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(len(w))
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a positive > score of a negative)."""
    allv = np.concatenate([pos, neg])
    ranks = allv.argsort().argsort() + 1.0
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def report(name: str, root: Path, feature_sets: list[tuple[str, ...]], oos_class: bool) -> None:
    tag = name + ("_oosclass" if oos_class else "")
    d = np.load(CACHE / f"{tag}.npz")
    feats, preds, golds, extras = [], [], [], []
    rows, valid, _ = load_data(name, root, oos_class)
    labels = sorted({r["label"] for r in rows})
    for k in (0, 1):
        fold = [r for r in valid if r["label"] in labels and r["label"] != OOS]
        train_rows = rows + [r for r in fold if crossfit_fold(r["text"]) == k]
        vocab = {
            w
            for r in train_rows
            for w in tokenized(r["text"], cjk_chars=True, cjk_bigrams=True).split()
        }
        f, p = features(d, k, vocab)
        feats.append(f)
        preds.append(p)
        golds.append(d[f"gold{k}"])
        extras.append(d[f"extra{k}"])
    texts = np.concatenate([d["text0"], d["text1"]])
    f = {key: np.concatenate([x[key] for x in feats]) for key in feats[0]}
    pred, gold, extra = np.concatenate(preds), np.concatenate(golds), np.concatenate(extras)
    half = np.array([hashlib.sha256(t.encode()).digest()[1] & 1 for t in texts])
    ins, correct = gold != OOS, pred == gold
    n_oos = int((~ins).sum())
    print(f"\n## {tag}: {len(gold)} dev rows, {int(ins.sum())} in scope, {n_oos} oos")
    print("| features | AUROC right vs oos | AUROC right vs wrong | in-scope acc | handoff "
          "| oos recall | valid oos / extra oos recall |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for names in feature_sets:
        x = np.column_stack([f[n] for n in names])
        raw = np.zeros(len(gold))
        conf = np.zeros(len(gold))
        thr_hits = np.zeros(len(gold), dtype=bool)
        for h in (0, 1):
            fit_rows = (half == h) & ~extra  # calibration sees valid-like rows only
            w = fit_logistic(x[fit_rows], correct[fit_rows])
            score = x @ w[:-1] + w[-1]
            conf_all = 1 / (1 + np.exp(-score))
            thr, _ = choose_threshold(
                conf_all[half == h], pred[half == h], gold[half == h], max_correct_loss=0.01
            )
            other = half != h
            raw[other], conf[other] = score[other], conf_all[other]
            thr_hits[other] = (conf_all[other] >= thr) & (pred[other] != OOS)
        raw[pred == OOS] = -1e9  # an explicit oos class answer is a handoff
        good = correct & ins
        a_oos = auroc(raw[good], raw[~ins]) if n_oos else float("nan")
        a_wrong = auroc(raw[good], raw[~good])
        acc = np.mean((good & thr_hits)[ins])
        handoff = np.mean(~thr_hits[ins])
        rec = np.mean(~thr_hits[~ins]) if n_oos else float("nan")
        rv = np.mean(~thr_hits[~ins & ~extra]) if n_oos else float("nan")
        re = np.mean(~thr_hits[~ins & extra]) if (extra & ~ins).any() else float("nan")
        print(
            f"| {'+'.join(names)} | {a_oos:.3f} | {a_wrong:.3f} | {100 * acc:.1f} | "
            f"{100 * handoff:.1f} | {100 * rec:.1f} | {100 * rv:.1f} / {100 * re:.1f} |"
        )


DEFAULT_SETS = [
    ("z",),
    ("z", "margin"),
    ("z", "ova_sum"),
    ("z", "centroid"),
    ("z", "centroid_max"),
    ("z", "knn1"),
    ("z", "knn5"),
    ("z", "knn_label1"),
    ("z", "knn_label5"),
    ("z", "norm"),
    ("z", "member_min"),
    ("z", "member_std"),
    ("z", "agree"),
    ("z", "known"),
    ("z", "known", "knn_label1"),
    ("z", "known", "centroid"),
    ("z", "margin", "centroid"),
    ("z", "margin", "knn_label5"),
    ("z", "centroid", "knn5"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["train", "report"])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--root", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    parser.add_argument("--oos-class", action="store_true", help="train oos as a class")
    args = parser.parse_args()
    for name in args.names:
        if args.action == "train":
            # The cache holds z-only half-models: the features are computed from vectors.
            params = {"confidence_features": ["z"], "oos_class": args.oos_class}
            train(name, args.root, params)
        else:
            report(name, args.root, DEFAULT_SETS, args.oos_class)


if __name__ == "__main__":
    main()
