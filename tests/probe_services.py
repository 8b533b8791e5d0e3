"""Exit 0 when the Redis and PostgreSQL that the services test run uses answer.

`make test` runs the whole suite a second time against them when they do, and
fails instead of skipping when CSBOT_REQUIRE_SERVICES=1 and they do not.
"""

import os
import socket
import sys
from urllib.parse import urlparse

DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/test"


def reachable(url: str, default_port: int) -> bool:
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=1.0):
            return True
    except OSError:
        return False


def main() -> int:
    redis_url = os.environ.get("CSBOT_TEST_REDIS_URL", DEFAULT_REDIS)
    database_url = os.environ.get("CSBOT_TEST_DATABASE_URL", DEFAULT_DATABASE)
    missing = [
        name
        for name, url, port in [("Redis", redis_url, 6379), ("PostgreSQL", database_url, 5432)]
        if not reachable(url, port)
    ]
    if missing:
        print(f"not reachable: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"REDIS_URL={redis_url} DATABASE_URL={database_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
