"""csbot: an AI customer-service system for online shops."""

import os

# Autobahn's native helpers (pulled in by Daphne) are built with fast-math flags
# that switch the process's floating point to flush-to-zero, which makes
# fastText training diverge ("Encountered NaN"). The pure-Python helpers are
# fine for a chat server's frame sizes.
os.environ.setdefault("AUTOBAHN_USE_NVX", "0")

from csbot.celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
