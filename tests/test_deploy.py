"""Deployment files, checked without a Docker engine or a cluster: the Dockerfile's
stages and health check (run against a real Daphne in production mode), the compose
file, nginx's WebSocket and weighted upstreams (parsed by crossplane), the Kubernetes
manifests, and `check --deploy` under the settings the manifests give the image."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import crossplane
import pytest
import yaml

from tests.browser_server import free_port

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"


def k8s_docs() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def of_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] == kind}


def configmap() -> dict[str, str]:
    return of_kind("ConfigMap")["csbot-config"]["data"]


# --- Dockerfile -------------------------------------------------------------------


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_stages_and_runtime():
    text = dockerfile()
    assert re.findall(r"^FROM (\S+) AS (\w+)", text, re.M) == [
        ("node:22-slim", "assets"),
        ("python:3.11-slim", "build"),
        ("python:3.11-slim", "runtime"),
    ]
    assets = text.split("AS assets", 1)[1].split("AS build", 1)[0]
    assert "COPY package.json package-lock.json ./" in assets
    assert "npm ci" in assets
    runtime = text.split("AS runtime", 1)[1]
    assert re.search(r"^USER csbot$", runtime, re.M)
    assert "DEBUG=0" in runtime
    assert "chart.js/dist/chart.umd.min.js" in runtime and "/app/static/vendor/chart.js/" in runtime
    assert re.search(r"^CMD .*daphne .*csbot\.asgi:application", runtime, re.M)


def healthcheck_command() -> list[str]:
    line = re.search(r"^\s*CMD (python -c .*)$", dockerfile().split("HEALTHCHECK", 1)[1], re.M)
    return shlex.split(line.group(1))


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    """Daphne as the image runs it: DEBUG=0, a public host name, a strong key."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="shop.example.com,.example.com",
        CSBOT_VAR_DIR=str(tmp_path_factory.mktemp("var")),
        DJANGO_SETTINGS_MODULE="csbot.settings",
        PORT=str(port),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "csbot.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            except urllib.error.HTTPError:
                break  # answering (400: host not allowed)
            except OSError:
                assert proc.poll() is None, "daphne exited"
                time.sleep(0.1)
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_image_healthcheck_passes_against_production_settings(production_server):
    result = subprocess.run(healthcheck_command(), env=production_server, timeout=20, check=False)
    assert result.returncode == 0
    # Asking for 127.0.0.1, as a naive check would, is refused in production.
    url = f"http://127.0.0.1:{production_server['PORT']}/healthz"
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(url, timeout=2)
    assert excinfo.value.code == 400


def test_dockerignore_keeps_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", "var", ".git", "static/vendor", "node_modules"):
        assert path in ignored


# --- docker compose ---------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_services():
    services = compose()["services"]
    assert {"web1", "web2", "worker", "beat", "redis", "postgres", "nginx", "migrate"} <= set(
        services
    )
    for name in ("web1", "web2", "worker", "beat", "migrate"):
        service = services[name]
        assert service["image"] == "csbot:latest"
        env = service["environment"]
        assert env["DEBUG"] == "0"
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
    for name in ("web1", "web2"):
        assert "daphne" in services[name]["command"][-1]
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["worker"]["command"][:5] == ["celery", "-A", "csbot", "worker", "-Q"]
    assert services["worker"]["command"][5] == "inference,default"
    assert services["beat"]["command"][:4] == ["celery", "-A", "csbot", "beat"]
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]
    assert set(services["nginx"]["depends_on"]) == {"web1", "web2"}


# --- nginx ------------------------------------------------------------------------


def nginx() -> list[dict]:
    parsed = crossplane.parse(str(ROOT / "deploy" / "nginx" / "nginx.conf"))
    assert parsed["errors"] == []
    return parsed["config"][0]["parsed"]


def find(block: list[dict], name: str, *args: str) -> list[dict]:
    return [d for d in block if d["directive"] == name and d["args"][: len(args)] == list(args)]


def test_nginx_weighted_upstreams_to_both_web_instances():
    http = find(nginx(), "http")[0]["block"]
    upstream = find(http, "upstream", "csbot_web")[0]["block"]
    servers = {d["args"][0]: d["args"][1:] for d in find(upstream, "server")}
    assert set(servers) == {"web1:8000", "web2:8000"}
    weights = {
        host: int(next(a for a in args if a.startswith("weight="))[7:])
        for host, args in servers.items()
    }
    assert weights == {"web1:8000": 3, "web2:8000": 1}


def test_nginx_upgrades_websockets():
    http = find(nginx(), "http")[0]["block"]
    upgrade_map = find(http, "map", "$http_upgrade", "$connection_upgrade")[0]["block"]
    assert [(d["directive"], d["args"]) for d in upgrade_map] == [
        ("default", ["upgrade"]),
        ("", ["close"]),
    ]
    tls = [s for s in find(http, "server") if find(s["block"], "listen", "443")][0]["block"]
    ws = find(tls, "location", "/ws/")[0]["block"]
    headers = {tuple(d["args"]) for d in find(ws, "proxy_set_header")}
    assert ("Upgrade", "$http_upgrade") in headers
    assert ("Connection", "$connection_upgrade") in headers
    assert find(ws, "proxy_http_version")[0]["args"] == ["1.1"]
    assert find(ws, "proxy_pass")[0]["args"] == ["http://csbot_web"]
    assert int(find(ws, "proxy_read_timeout")[0]["args"][0].rstrip("s")) >= 3600
    assert find(tls, "location", "=", "/metrics")[0]["block"][0]["directive"] == "deny"


# --- Kubernetes -------------------------------------------------------------------


def test_k8s_has_every_required_object():
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in k8s_docs())
    assert kinds == [
        ("ConfigMap", "csbot-config"),
        ("Deployment", "csbot-beat"),
        ("Deployment", "csbot-web"),
        ("Deployment", "csbot-worker"),
        ("HorizontalPodAutoscaler", "csbot-web"),
        ("HorizontalPodAutoscaler", "csbot-worker"),
        ("Ingress", "csbot"),
        ("Job", "csbot-migrate"),
        ("PodDisruptionBudget", "csbot-web"),
        ("PodDisruptionBudget", "csbot-worker"),
        ("Secret", "csbot-secrets"),
        ("Service", "csbot-web"),
    ]
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )


def test_k8s_deployments_probe_and_read_config_and_secrets():
    deployments = of_kind("Deployment")
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"] == labels
        assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        (container,) = spec["template"]["spec"]["containers"]
        assert container["image"] == "registry.example.com/csbot:1.0.0"  # one image for all
        assert {"configMapRef": {"name": "csbot-config"}} in container["envFrom"]
        assert {"secretRef": {"name": "csbot-secrets"}} in container["envFrom"]
        assert "readinessProbe" in container and "livenessProbe" in container, name
        assert container["resources"]["requests"] and container["resources"]["limits"]
    web = deployments["csbot-web"]["spec"]["template"]["spec"]["containers"][0]
    host = configmap()["ALLOWED_HOSTS"].split(",")[0]
    for probe in ("readinessProbe", "livenessProbe"):
        get = web[probe]["httpGet"]
        assert get["path"] == "/healthz" and get["port"] == "http"
        assert {"name": "Host", "value": host} in get["httpHeaders"]
    assert web["command"][0] == "daphne"
    worker = deployments["csbot-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"][:4] == ["celery", "-A", "csbot", "worker"]
    beat = deployments["csbot-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"


def test_k8s_services_ingress_hpa_and_pdb_point_at_real_objects():
    deployments = of_kind("Deployment")
    web_labels = deployments["csbot-web"]["spec"]["template"]["metadata"]["labels"]
    service = of_kind("Service")["csbot-web"]
    assert service["spec"]["selector"] == web_labels
    port_names = {p["name"] for p in service["spec"]["ports"]}
    ingress = of_kind("Ingress")["csbot"]
    paths = {
        p["path"]: p["backend"]["service"]
        for r in ingress["spec"]["rules"]
        for p in r["http"]["paths"]
    }
    assert set(paths) == {"/ws/", "/"}
    for backend in paths.values():
        assert backend["name"] == "csbot-web" and backend["port"]["name"] in port_names
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert ingress["spec"]["tls"][0]["hosts"] == [configmap()["ALLOWED_HOSTS"]]
    for hpa in of_kind("HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        assert hpa["apiVersion"] == "autoscaling/v2"
    for name, pdb in of_kind("PodDisruptionBudget").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"] == labels
        assert pdb["spec"]["minAvailable"] < deployments[name]["spec"]["replicas"] + 1


def test_check_deploy_is_clean_under_the_manifests_settings():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({k: v for k, v in configmap().items() if v})
    env.update(SECRET_KEY=secrets.token_urlsafe(60), DJANGO_SETTINGS_MODULE="csbot.settings")
    env.pop("CSBOT_BACKUP_TARGET", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
