"""Intent training data and model versions (filled in by the understanding issue)."""
