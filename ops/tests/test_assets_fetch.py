"""assets_fetch: reads package.json / package-lock.json, downloads the tarball from a
registry (a fake one on loopback here), refuses a tarball whose sha512 does not match
the lock file, and unpacks only the listed files."""

import base64
import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from ops.management.commands.assets_fetch import tarball_url, vendor_plan

JS = b"/*! fake chart */ window.Chart = function () {};"


def tarball() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in [
            ("package/dist/chart.umd.min.js", JS),
            ("package/LICENSE.md", b"MIT"),
            ("package/package.json", b"{}"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def registry():
    served = {"data": tarball(), "paths": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            served["paths"].append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(served["data"])

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    served["url"] = f"http://127.0.0.1:{server.server_port}"
    yield served
    server.shutdown()


def project(root: Path, integrity: str, version: str = "4.6.1") -> Path:
    (root / "package.json").write_text(
        json.dumps(
            {
                "dependencies": {"chart.js": "4.6.1"},
                "csbot": {"vendor": {"chart.js": ["dist/chart.umd.min.js", "LICENSE.md"]}},
            }
        )
    )
    (root / "package-lock.json").write_text(
        json.dumps(
            {"packages": {"node_modules/chart.js": {"version": version, "integrity": integrity}}}
        )
    )
    return root


def test_fetches_checks_and_unpacks(tmp_path, registry):
    root = project(tmp_path, sri(registry["data"]))
    out = io.StringIO()
    call_command("assets_fetch", root=str(root), registry=registry["url"], stdout=out)
    vendor = root / "static" / "vendor" / "chart.js"
    assert (vendor / "chart.umd.min.js").read_bytes() == JS
    assert (vendor / "LICENSE.md").read_bytes() == b"MIT"
    assert not (vendor / "package.json").exists()
    assert registry["paths"] == ["/chart.js/-/chart.js-4.6.1.tgz"]
    # A second run finds it there and downloads nothing.
    call_command("assets_fetch", root=str(root), registry=registry["url"], stdout=io.StringIO())
    assert len(registry["paths"]) == 1


def test_tampered_tarball_is_refused_and_nothing_written(tmp_path, registry):
    root = project(tmp_path, sri(b"something else"))
    with pytest.raises(CommandError, match="integrity mismatch"):
        call_command("assets_fetch", root=str(root), registry=registry["url"])
    assert not (root / "static" / "vendor").exists()


def test_lock_and_package_must_agree(tmp_path):
    project(tmp_path, "sha512-xyz", version="4.0.0")
    with pytest.raises(CommandError, match="package.json pins '4.6.1'"):
        vendor_plan(tmp_path)


def test_project_files_pin_chart_js_with_integrity():
    (item,) = vendor_plan(Path(settings.BASE_DIR))
    assert (item["name"], item["version"]) == ("chart.js", "4.6.1")
    assert item["integrity"].startswith("sha512-")
    assert item["url"] == "https://registry.npmjs.org/chart.js/-/chart.js-4.6.1.tgz"
    assert tarball_url("@kurkle/color", "0.3.4") == (
        "https://registry.npmjs.org/@kurkle/color/-/color-0.3.4.tgz"
    )
