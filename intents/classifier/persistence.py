"""Persistence: writes a classifier to a model directory (fastText members, numpy arrays,
meta.json) and loads one back, including models saved before the confidence features."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypeVar

import numpy as np

from .calibration import Calibration
from .inference import EnsemblePredictor

FORMAT_VERSION = 1

C = TypeVar("C", bound=EnsemblePredictor)


def save_classifier(clf: EnsemblePredictor, directory: str | os.PathLike) -> Path:
    """Write the members (.bin, or .ftz when quantised) and meta.json into `directory`."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i, model in enumerate(clf.members):
        name = f"member-{i}.{'ftz' if model.is_quantized() else 'bin'}"
        model.save_model(str(out / name))
        if model.is_quantized():  # fastText will not hand back a quantised output matrix
            np.save(out / f"member-{i}.out.npy", clf._outputs[i].astype(np.float32))
        entry = {"file": name}
        centroids = clf._centroids[i]
        if centroids is not None:
            entry["centroids"] = f"member-{i}.centroids.npy"
            np.save(out / entry["centroids"], centroids.astype(np.float32))
        files.append(entry)
    meta = {
        "format": FORMAT_VERSION,
        "labels": clf.labels,
        "threshold": clf.threshold,
        "calibration": clf.calibration.to_json(),
        "members": [{**f, **c} for f, c in zip(files, clf.member_configs, strict=True)],
        "params": clf.params,
        **clf.meta,
    }
    tmp = out / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str) + "\n")
    tmp.replace(out / "meta.json")
    return out


def load_classifier(cls: type[C], directory: str | os.PathLike) -> C:
    """Load a directory written by `save_classifier` as a `cls` instance."""
    import fasttext

    src = Path(directory)
    meta_path = src / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"no intent model at {src} (meta.json missing)")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{meta_path}: unsupported format {meta.get('format')!r}")
    members, configs, outputs, centroids = [], [], [], []
    for spec in meta.pop("members"):
        spec = dict(spec)
        path = src / spec.pop("file")
        model = fasttext.load_model(str(path))
        members.append(model)
        # Models saved before the centroid feature have none (and calibrate on "z").
        centroid_file = spec.pop("centroids", None)
        centroids.append(np.load(src / centroid_file) if centroid_file else None)
        configs.append(spec)
        outputs.append(np.load(path.with_suffix(".out.npy")) if model.is_quantized() else None)
    calibration = Calibration.from_json(meta.pop("calibration"))
    if "centroid" in calibration.features and any(c is None for c in centroids):
        raise ValueError(f"{meta_path}: the calibration needs label centroids; files missing")
    return cls(
        members=members,
        outputs=outputs,
        centroids=centroids,
        member_configs=configs,
        labels=meta.pop("labels"),
        calibration=calibration,
        threshold=meta.pop("threshold"),
        params=meta.pop("params"),
        meta={k: v for k, v in meta.items() if k != "format"},
    )
