"""Calibration: maps the ensemble's confidence features to a probability that the top label
is right (logistic regression; Platt scaling with the log-odds alone), so thresholds mean
the same across models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Calibration:
    """Logistic calibration of per-label features: p = sigmoid(Σ wᵢ · xᵢ + b).

    `features` names the columns (see CONFIDENCE_FEATURES); with the single feature "z" (the
    ensemble's log-odds) this is Platt scaling, p = sigmoid(a · z + b), as in models saved
    before the other features existed.
    """

    a: float = 1.0
    b: float = 0.0
    features: tuple[str, ...] = ("z",)
    weights: tuple[float, ...] = ()  # one per feature; empty: (a,) for Platt

    def __post_init__(self) -> None:
        self.features = tuple(self.features)
        self.weights = tuple(float(w) for w in self.weights) or (float(self.a),)
        if len(self.weights) != len(self.features):
            raise ValueError(f"{len(self.weights)} weights for features {self.features}")
        self.a = self.weights[0]

    def __call__(self, *columns: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for feature arrays (in `features` order) that broadcast
        together: per label (n, labels) or per text (n, 1)."""
        if len(columns) != len(self.features):
            raise ValueError(f"expected {len(self.features)} feature arrays: {self.features}")
        u = self.b + sum(w * np.asarray(c) for w, c in zip(self.weights, columns, strict=True))
        # Never exactly 0 or 1: threshold 1.0 hands everything off, as one would expect.
        return np.clip(_sigmoid(u), 1e-4, 1 - 1e-4)

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        correct: np.ndarray,
        features: Sequence[str] = ("z",),
        *,
        min_events: float = 0.0,
    ) -> Calibration:
        """Minimise the log loss of `correct` given the feature matrix `x` (n × features, or
        a vector for one feature) by Newton steps with backtracking, with Platt's smoothed
        targets so a perfectly separated validation set does not push a weight to ∞."""
        x = np.asarray(x, dtype=float)
        x = x.reshape(len(x), -1)
        y = np.asarray(correct, dtype=bool)
        features = tuple(features)
        identity = cls(features=features, weights=(1.0,) + (0.0,) * (len(features) - 1))
        if len(x) == 0:
            return identity
        if x.shape[1] != len(features):
            raise ValueError(f"{x.shape[1]} columns for features {features}")
        n_pos, n_neg = int(y.sum()), int((~y).sum())
        if len(features) > 1 and min(n_pos, n_neg) < min_events * (len(features) + 1):
            # Too few rows of the rarer outcome to fit every weight (`min_events` per
            # parameter, the bias included); Platt scaling has two parameters.
            return cls.fit(x[:, 0], y)
        t = np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
        design = np.column_stack([x, np.ones(len(x))])
        # With several features, a whisker of ridge on the weights (not the bias): a feature
        # that is constant on the validation rows (every token known, say) would leave the
        # Newton system singular. Platt scaling (one feature) fits as it always did.
        scale_ridge = 1e-6 * len(x) if x.shape[1] > 1 else 0.0
        ridge = np.diag([scale_ridge] * x.shape[1] + [0.0])

        def loss(w: np.ndarray) -> float:
            u = design @ w  # log(1 + e^u) - t·u, computed stably
            return float(np.sum(np.logaddexp(0.0, u) - t * u) + 0.5 * w @ ridge @ w)

        w = np.array(identity.weights + (0.0,))
        current = loss(w)
        for _ in range(100):
            p = _sigmoid(design @ w)
            g = design.T @ (p - t) + ridge @ w
            h = (design * (p * (1 - p) + 1e-12)[:, None]).T @ design + ridge
            step = np.linalg.solve(h + np.eye(len(w)) * 1e-9, g)
            scale = 1.0
            while scale > 1e-6:
                new_w = w - scale * step
                new = loss(new_w)
                if new <= current:
                    break
                scale /= 2
            else:
                break
            converged = current - new < 1e-10 * max(1.0, abs(current))
            w, current = new_w, new
            if converged:
                break
        if not np.all(np.isfinite(w)) or w[0] <= 0:
            # Degenerate data, or confidence falling as the log-odds rise: Platt scaling of
            # the log-odds alone, and failing that the raw scores.
            return cls.fit(x[:, 0], y) if len(features) > 1 else identity
        return cls(b=float(w[-1]), features=features, weights=tuple(float(v) for v in w[:-1]))

    def to_json(self) -> dict[str, Any]:
        if self.features == ("z",):  # the format of models saved before the other features
            return {"method": "platt", "a": self.a, "b": self.b}
        return {
            "method": "logistic",
            "features": list(self.features),
            "weights": list(self.weights),
            "b": self.b,
        }

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> Calibration:
        if spec.get("method", "platt") == "platt":
            return cls(spec["a"], spec["b"])
        return cls(b=spec["b"], features=spec["features"], weights=spec["weights"])


def _sigmoid(z: np.ndarray | float) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|
