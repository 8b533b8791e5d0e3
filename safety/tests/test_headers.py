"""Security headers and the content security policy on real pages, pages that need
no inline script, and `check --deploy` clean under production settings."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db
ROOT = Path(settings.BASE_DIR)


def _directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize("path", ["/", "/privacy/", "/accounts/login/", "/api/privacy/export/"])
def test_pages_carry_the_policy_and_headers(client, demo_store, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert "'self'" in policy["connect-src"]
    # The widget previews a picture before upload from a blob: URL.
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_async_api_views_get_the_headers_too(client):
    response = client.post("/api/chat/", data="{}", content_type="application/json")
    assert response.status_code == 400
    assert "Content-Security-Policy" in response
    assert "Permissions-Policy" in response


def test_graphiql_is_outside_the_policy(client):
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert "Content-Security-Policy" not in response


# Known, reported for the template's owner: 500.html styles itself inline, which the
# policy blocks (the page stays readable, unstyled). The fix is a <link> to a stylesheet;
# this list then shrinks and the test tells whoever fixes it to drop the entry.
KNOWN_INLINE: list[str] = []


def test_templates_and_widget_need_no_inline_script_or_style():
    """What the policy forbids must not be in our pages: inline <script> bodies, on*
    handler attributes, style attributes, <style> blocks, javascript: URLs."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        html = path.read_text(encoding="utf-8")
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"\son[a-z]+\s*=",
            r"\sstyle\s*=",
            r"<style[\s>]",
            r"javascript:",
        ):
            for match in re.finditer(pattern, html, re.IGNORECASE):
                offenders.append(f"{path.relative_to(ROOT)}: {match.group()!r}")
    js = (ROOT / "static" / "csbot" / "widget.js").read_text(encoding="utf-8")
    for pattern in (r"\beval\(", r"new Function\(", r"\.innerHTML\s*=", r"setAttribute\(\"on"):
        offenders += [f"widget.js: {m.group()!r}" for m in re.finditer(pattern, js)]
    assert offenders == KNOWN_INLINE


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "shop.example.com",
        "DJANGO_SETTINGS_MODULE": "csbot.settings",
        "CSBOT_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(  # noqa: S603 - fixed command line
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_csp_allows_only_secure_sockets(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "shop.example.com",
        "DJANGO_SETTINGS_MODULE": "csbot.settings",
        "CSBOT_VAR_DIR": str(tmp_path),
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['connect-src'])"
    )
    result = subprocess.run(  # noqa: S603 - fixed command line
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[\"'self'\", 'wss:']"
