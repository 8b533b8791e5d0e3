"""Operational endpoints and files other people rely on."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_metrics_expose_csbot_series_after_a_chat(client, demo_store):
    client.post(
        "/api/chat/", data=json.dumps({"text": "运费怎么算"}), content_type="application/json"
    )
    body = client.get("/metrics").content.decode()
    assert re.search(r'^csbot_messages_total\{channel="api",sender="shopper"\} [1-9]', body, re.M)
    assert re.search(r"^csbot_reply_latency_seconds_count [1-9]", body, re.M)
    assert 'csbot_stage_latency_seconds_bucket{le="0.005",stage="policy"}' in body
    project = {m.group(1) for m in re.finditer(r"^# TYPE (\w+) ", body, re.M)}
    ours = {name for name in project if name.startswith("csbot")}
    assert ours >= {"csbot_messages_total", "csbot_reply_latency_seconds", "csbot_handoffs_total"}


def test_dockerfile_is_multistage_non_root_with_healthcheck_running_daphne():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", text, re.M)
    assert stages == ["assets", "build", "runtime"]  # Chart.js (npm), Python deps, runtime
    runtime = text.split("AS runtime", 1)[1]
    assert re.search(r"^USER csbot$", runtime, re.M)
    assert re.search(r"^HEALTHCHECK .*", runtime, re.M)
    assert "/healthz" in runtime
    assert re.search(r"^CMD .*daphne .*csbot\.asgi:application", runtime, re.M)


def test_requirements_are_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-r"):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line), line
