"""A real csbot server for browser tests: a fresh SQLite store in a temp dir, the demo
store loaded, Daphne on a free loopback port, and Debian's Chromium through Playwright.

Used as pytest fixtures by `tests/test_browser.py`; `python -m tests.browser_server`
serves the same thing by hand (prints the URL, Ctrl+C stops it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENS_DIR = ROOT / "var" / "screens"
START_TIMEOUT_S = 60
# Environment that would point the child at shared services; it runs embedded.
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CSBOT_HANDOFF_THRESHOLD")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(
        CSBOT_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="csbot.settings",
        DEBUG="1",
        PYTHONUNBUFFERED="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daphne exited with {proc.returncode}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"daphne did not answer /healthz in {START_TIMEOUT_S}s:\n{_tail(log_path)}")


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@contextlib.contextmanager
def running_server(
    *, env_extra: dict[str, str] | None = None, setup: tuple[tuple[str, ...], ...] = ()
) -> Iterator[str]:
    """Migrate, seed and serve a throwaway store; yield its base URL."""
    with running_servers(1, env_extra=env_extra, setup=setup) as (url,):
        yield url


@contextlib.contextmanager
def running_servers(
    count: int,
    *,
    env_extra: dict[str, str] | None = None,
    database_url: str | None = None,
    setup: tuple[tuple[str, ...], ...] = (),
) -> Iterator[list[str]]:
    """Migrate, seed and serve one throwaway store from `count` Daphne processes; yield
    their base URLs. They share the store: a SQLite file in a temp dir, or the database
    at `database_url`. `env_extra` reaches every process (e.g. REDIS_URL and a channel
    prefix, so the processes share one Redis channel layer); `setup` names further
    manage.py commands run before the servers start."""
    var_dir = Path(tempfile.mkdtemp(prefix="csbot-browser-"))
    env = server_env(var_dir)
    env.update(env_extra or {})
    if database_url:
        env["DATABASE_URL"] = database_url
    procs: list[tuple[subprocess.Popen, Path]] = []
    try:
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "seed_demo", "-v", "0")
        for command in setup:  # further manage.py commands, e.g. intents_ensure_model
            _manage(env, *command)
        urls = []
        for index in range(count):
            port = free_port()
            log_path = var_dir / f"daphne-{index}.log"
            with log_path.open("wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
                    + ["csbot.asgi:application"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            procs.append((proc, log_path))
            urls.append(f"http://127.0.0.1:{port}")
        for url, (proc, log_path) in zip(urls, procs, strict=True):
            _wait_healthy(url, proc, log_path)
        yield urls
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(var_dir, ignore_errors=True)


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if os.environ.get("CSBOT_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def live_server_url() -> Iterator[str]:
    """Base URL of a real csbot server with the demo store (module-scoped)."""
    require_chromium()
    with running_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (own cookies and storage) per test, Chinese by default."""
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 1280, "height": 860},
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot(page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot under var/screens/ (gitignored) for a person to look at."""
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENS_DIR / f"{name}.png"
    page.wait_for_timeout(400)  # let entrance animations finish
    page.screenshot(path=str(path), full_page=full_page)
    return path


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl+C, so the server is stopped and the temp dir removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with running_server() as base_url:
        print(f"serving {base_url} (Ctrl+C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
