"""Settings for the test suite: the embedded defaults, or Redis/PostgreSQL when
the environment names them (`make test` runs both when the services answer)."""

import tempfile
from pathlib import Path

from csbot.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Unit tests run tasks in-process; the worker tests flip this on their own app.
CELERY_TASK_ALWAYS_EAGER = True
CSBOT_HTTP_REPLY_WAIT_S = 2.0
WHITENOISE_AUTOREFRESH = True
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Close connections after each sync call so test databases can be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Two suites running at once against one PostgreSQL server need their own test database.
if os.environ.get("CSBOT_TEST_DB_NAME"):  # noqa: F405
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ["CSBOT_TEST_DB_NAME"]  # noqa: F405
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, as the embedded server uses, not Django's default in-memory database: that
    # one is shared between threads through SQLite's shared cache, whose table locks fail
    # at once ("database table is locked") where a file waits on the busy timeout, so a
    # test whose worker thread wrote while the test read failed now and then.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(  # noqa: F405
        Path(tempfile.gettempdir()) / f"csbot-test-{os.getpid()}.sqlite3"  # noqa: F405
    )
# Handoff tests run the same at any hour of the day: agents are always on duty here.
CSBOT_AGENT_HOURS = os.environ.get("CSBOT_AGENT_HOURS", "00:00-24:00")  # noqa: F405
