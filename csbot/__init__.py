"""csbot: an AI customer-service system for online shops."""

import os

# Autobahn's native helpers (NVX, pulled in by Daphne) stay off. They were switched off
# when fastText training diverged ("Encountered NaN"), blamed on fast-math flags; that
# did not reproduce (loading them leaves denormals alone here), and the divergence was
# uninitialised memory in fastText (see intents/classifier/training.py). They are kept off
# because they buy nothing measurable at chat frame sizes (bench/ws_load.py A/B, 50
# shoppers: 2,463 replies/s with them, 2,438 without) and cost a native dependency.
os.environ.setdefault("AUTOBAHN_USE_NVX", "0")

from csbot.celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
