"""A shopper over HTTP: `POST /api/chat/` of a running server, with its own cookies (a
fresh visitor), optionally logged in through the login form, optionally on a product
page (sent as the message's page context)."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.parse
import urllib.request
import uuid
from typing import Any

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class HttpShopper:
    def __init__(self, base: str, *, login: str | None = None, page: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.page = page
        self.conversation_id: str | None = None
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar)
        )
        if login:
            self._login(login)

    def _login(self, username: str) -> None:
        with self.opener.open(f"{self.base}/accounts/login/", timeout=30) as response:
            token = _CSRF.search(response.read().decode())
        assert token, "no CSRF token on the login page"
        form = urllib.parse.urlencode(
            {"username": username, "password": "demo12345", "csrfmiddlewaretoken": token[1]}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback http only
            f"{self.base}/accounts/login/",
            data=form,
            headers={"Referer": f"{self.base}/accounts/login/"},
        )
        with self.opener.open(request, timeout=30) as response:
            response.read()
        assert any(c.name == "sessionid" for c in self.jar), f"login as {username} failed"

    def forget(self) -> None:
        """Erase this shopper's chat data through the privacy endpoint (a logged-in
        shopper's next story then starts a new conversation, not this one's sequel)."""
        with self.opener.open(f"{self.base}/api/privacy/export/", timeout=30) as response:
            response.read()
        token = next((c.value for c in self.jar if c.name == "csrftoken"), "")
        request = urllib.request.Request(  # noqa: S310 - loopback http only
            f"{self.base}/api/privacy/delete/",
            data=b"{}",
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "X-CSRFToken": token,
                "Referer": f"{self.base}/privacy/",
                "Origin": self.base,
            },
        )
        with self.opener.open(request, timeout=30) as response:
            response.read()

    def send(self, text: str) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"text": text, "client_msg_id": uuid.uuid4().hex[:32]}
        if self.conversation_id:
            body["conversation_id"] = self.conversation_id
        if self.page:
            body["context"] = {"sku": self.page}
        request = urllib.request.Request(  # noqa: S310 - loopback http only
            f"{self.base}/api/chat/",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept-Language": "zh-CN,zh;q=0.9"},
        )
        with self.opener.open(request, timeout=30) as response:
            data = json.loads(response.read())
        self.conversation_id = data["conversation_id"]
        return data["replies"]
