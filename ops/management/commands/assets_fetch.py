"""Fetch the browser libraries named in package.json from the npm registry, check each
tarball against package-lock.json's `integrity` (sha512), and unpack the files listed
under package.json's "csbot.vendor" into static/vendor/<package>/. No node or npm needed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

REGISTRY = "https://registry.npmjs.org"


def tarball_url(name: str, version: str, registry: str = REGISTRY) -> str:
    """The registry's tarball address (scoped names keep their scope in the path)."""
    base = name.rsplit("/", 1)[-1]
    return f"{registry.rstrip('/')}/{name}/-/{base}-{version}.tgz"


def integrity_check(data: bytes, integrity: str) -> None:
    """Raise CommandError unless `data` matches an SRI string such as `sha512-<base64>`."""
    algo, _, expected = integrity.partition("-")
    if algo not in ("sha512", "sha384", "sha256") or not expected:
        raise CommandError(f"unsupported integrity {integrity!r} (want sha512-…)")
    actual = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if actual != expected:
        raise CommandError(f"integrity mismatch: expected {algo}-{expected}, got {algo}-{actual}")


def vendor_plan(root: Path) -> list[dict]:
    """What to fetch: name, version, tarball URL, integrity and files, from the two JSON files."""
    try:
        package = json.loads((root / "package.json").read_text())
        lock = json.loads((root / "package-lock.json").read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read package.json / package-lock.json: {exc}") from exc
    plan = []
    for name, files in package.get("csbot", {}).get("vendor", {}).items():
        entry = lock.get("packages", {}).get(f"node_modules/{name}")
        if not entry or "integrity" not in entry or "version" not in entry:
            raise CommandError(f"package-lock.json has no version and integrity for {name}")
        wanted = package.get("dependencies", {}).get(name)
        if wanted != entry["version"]:
            raise CommandError(
                f"{name}: package.json pins {wanted!r}, package-lock.json has {entry['version']!r}"
            )
        plan.append(
            {
                "name": name,
                "version": entry["version"],
                "url": entry.get("resolved") or tarball_url(name, entry["version"]),
                "integrity": entry["integrity"],
                "files": files,
            }
        )
    return plan


def vendor_unpack(*, data: bytes, files: list[str], dest: Path) -> list[Path]:
    """Extract the listed files (paths inside the package) from an npm tarball."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {m.name.split("/", 1)[-1]: m for m in tar.getmembers() if m.isfile()}
        for name in files:
            member = members.get(name)
            if member is None:
                raise CommandError(f"{name} is not in the tarball")
            target = dest / Path(name).name
            target.parent.mkdir(parents=True, exist_ok=True)
            extracted = tar.extractfile(member)
            assert extracted is not None
            target.write_bytes(extracted.read())
            written.append(target)
    return written


class Command(BaseCommand):
    help = "Download the browser libraries of package.json into static/vendor/ (checked)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--root", default=str(settings.BASE_DIR), help="where package.json is")
        parser.add_argument("--dest", default=None, help="default: <root>/static/vendor")
        parser.add_argument("--registry", default=REGISTRY)
        parser.add_argument("--force", action="store_true", help="fetch even if present")

    def handle(self, *args, **options) -> None:
        root = Path(options["root"])
        dest_root = Path(options["dest"] or root / "static" / "vendor")
        for item in vendor_plan(root):
            dest = dest_root / item["name"]
            stamp = dest / ".integrity"
            if (
                not options["force"]
                and stamp.exists()
                and stamp.read_text() == item["integrity"]
                and all((dest / Path(f).name).exists() for f in item["files"])
            ):
                self.stdout.write(f"{item['name']} {item['version']}: already there")
                continue
            url = item["url"]
            if options["registry"] != REGISTRY:
                url = tarball_url(item["name"], item["version"], options["registry"])
            try:
                response = httpx.get(url, timeout=60, follow_redirects=True)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise CommandError(f"cannot download {url}: {exc}") from exc
            integrity_check(response.content, item["integrity"])
            written = vendor_unpack(data=response.content, files=item["files"], dest=dest)
            stamp.write_text(item["integrity"])
            names = ", ".join(str(p.relative_to(dest_root)) for p in written)
            self.stdout.write(f"{item['name']} {item['version']}: {names}")
