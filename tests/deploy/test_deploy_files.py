"""The container image, the compose file and the Kubernetes manifests: checked by their own
validators (offline), and cross-checked against the code: every command, port, environment
variable and probe path they name exists."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from services.api.app import create_app
from services.ops.cli import build_parser
from services.runtime.config import load_settings
from services.runtime.probes import ProbeServer
from workers import queue

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is installed with the dev extras"
    return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def resources() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def containers() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(resource, container) for every container of every workload."""
    for resource in resources():
        spec = resource.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            yield resource, container


def final_stage() -> list[dict[str, Any]]:
    parser = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    instructions: list[dict[str, Any]] = parser.structure
    starts = [n for n, i in enumerate(instructions) if i["instruction"] == "FROM"]
    return instructions[starts[-1] :]


def settings_read() -> set[str]:
    """Every environment variable `load_settings` reads."""

    class Recording(dict[str, str]):
        def get(self, key: str, default: Any = None) -> Any:
            asked.add(key)
            return super().get(key, default)

    asked: set[str] = set()
    load_settings(Recording())
    return asked


# -- the validators ----------------------------------------------------------------------------


def test_the_compose_file_matches_the_compose_specification() -> None:
    checked = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "deploy/compose.yaml"
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_kubernetes_manifests_match_the_kubernetes_schema_offline() -> None:
    checked = run(
        tool("kubernetes-validate"),
        "--strict",
        "--kubernetes-version",
        "1.30.0",
        *[str(p.relative_to(ROOT)) for p in MANIFESTS],
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    kinds = sorted({(r["kind"], r["metadata"]["name"]) for r in resources()})
    assert kinds == [
        ("ConfigMap", "campaign-config"),
        ("Deployment", "campaign-api"),
        ("Deployment", "campaign-projector"),
        ("Deployment", "campaign-worker"),
        ("HorizontalPodAutoscaler", "campaign-api"),
        ("HorizontalPodAutoscaler", "campaign-worker"),
        ("Job", "campaign-migrate"),
        ("PodDisruptionBudget", "campaign-api"),
        ("PodDisruptionBudget", "campaign-projector"),
        ("PodDisruptionBudget", "campaign-worker"),
        ("Service", "campaign-api"),
    ]


def test_the_dockerfile_passes_hadolint() -> None:
    checked = run(tool("hadolint"), "--no-color", "deploy/Dockerfile")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_image_runs_campaign_as_a_non_root_user_with_a_healthcheck() -> None:
    stage = final_stage()
    by_kind: dict[str, list[str]] = {}
    for instruction in stage:
        by_kind.setdefault(instruction["instruction"], []).append(instruction["value"])
    assert by_kind["USER"][-1].split(":")[0] not in ("root", "0")
    assert by_kind["ENTRYPOINT"] == ['["campaign"]']
    assert by_kind["CMD"] == ['["serve"]']
    assert (
        len(by_kind["HEALTHCHECK"]) == 1
        and 'CMD ["campaign", "probe"]' in by_kind["HEALTHCHECK"][0]
    )
    # No build tools and no package installs in the final stage: it only copies the venv.
    assert not any(
        re.search(r"\b(apt-get|apk|gcc|make|pip install|build-essential)\b", v)
        for v in by_kind.get("RUN", [])
    )
    assert any(v.startswith("--from=build") for v in by_kind["COPY"])
    (base,) = [i["value"] for i in final_stage() if i["instruction"] == "FROM"]
    assert "slim" in base or "PYTHON_IMAGE" in base


# -- cross-checks against the code --------------------------------------------------------------


def campaign_commands() -> list[list[str]]:
    """Every `campaign ...` argument list the deploy files run."""
    found: list[list[str]] = []
    for name, service in compose()["services"].items():
        if service.get("image", "").startswith("campaign-ledger"):
            found.append(service["command"])
            test = service.get("healthcheck", {}).get("test")
            if test:
                assert test[:2] == ["CMD", "campaign"], name
                found.append(test[2:])
    for _, container in containers():
        found.append(container["args"])
    for instruction in final_stage():
        if instruction["instruction"] in ("CMD", "HEALTHCHECK"):
            words = re.findall(r'"([^"]+)"', instruction["value"])
            found.append(words[1:] if words[:1] == ["campaign"] else words)
    return found


def test_every_command_the_deploy_files_run_is_a_campaign_command() -> None:
    parser = build_parser()
    commands = campaign_commands()
    assert {c[0] for c in commands} == {"serve", "project", "worker", "migrate", "probe"}
    for command in commands:
        parser.parse_args(command)  # exits (fails the test) on an unknown command or option


def test_every_environment_variable_named_is_read_by_the_settings_and_documented() -> None:
    read = settings_read()
    named: set[str] = set()
    for service in compose()["services"].values():
        if service.get("image", "").startswith("campaign-ledger"):
            named |= set(service["environment"])
    for resource in resources():
        if resource["kind"] == "ConfigMap":
            named |= set(resource["data"])
    for _, container in containers():
        named |= {e["name"] for e in container.get("env", [])}
        for source in container.get("envFrom", []):
            assert (
                source.get("configMapRef", {}).get("name", "campaign-config") == "campaign-config"
            )
            assert source.get("secretRef", {}).get("name", "campaign-secrets") == "campaign-secrets"
    for instruction in final_stage():
        if instruction["instruction"] == "ENV":
            named |= set(re.findall(r"(?:^|\s)([A-Z_]+)=", instruction["value"]))
    runtime = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}
    assert named - runtime <= read, (named - runtime) - read
    assert {"DATABASE_URL", "REDIS_URL", "METRICS_PORT"} <= named
    readme = (ROOT / "README.md").read_text()
    assert {v for v in read if f"`{v}`" not in readme} == set()


def test_ports_agree_with_the_settings_that_open_them() -> None:
    exposed = next(i["value"] for i in final_stage() if i["instruction"] == "EXPOSE").split()
    assert exposed == ["8000", "9100"]
    services = compose()["services"]
    assert services["api"]["ports"] == [f"8000:{services['api']['environment']['HTTP_PORT']}"]
    for role in ("projector", "worker"):
        port = services[role]["environment"]["METRICS_PORT"]
        assert services[role]["healthcheck"]["test"][-1] == port
    config = next(r for r in resources() if r["kind"] == "ConfigMap")["data"]
    for resource, container in containers():
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        env = {e["name"]: e["value"] for e in container.get("env", [])}
        annotations = resource["spec"]["template"]["metadata"].get("annotations", {})
        if "http" in ports:
            assert str(ports["http"]) == config["HTTP_PORT"]
            assert annotations["prometheus.io/port"] == str(ports["http"])
        if "metrics" in ports:
            assert str(ports["metrics"]) == env["METRICS_PORT"]
            assert annotations["prometheus.io/port"] == str(ports["metrics"])
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["port"] in ports


async def test_every_probe_path_is_served_by_the_role_it_probes() -> None:
    api_paths = {route.path for route in create_app(load_settings({})).routes}

    async def ready() -> tuple[bool, dict[str, Any]]:
        return True, {}

    probes = ProbeServer("127.0.0.1", 0, "test", ready)
    for resource, container in containers():
        role = resource["metadata"]["name"].removeprefix("campaign-")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe not in container:
                continue
            path = container[probe]["httpGet"]["path"]
            if role == "api":
                assert path in api_paths, path
            else:
                status, _, _ = await probes._answer("GET", path)
                assert status.startswith("200"), (role, path, status)
        assert (
            resource["metadata"]["name"] != "campaign-migrate" or "livenessProbe" not in container
        )
    assert {"/metrics", "/health/live", "/health/ready"} <= api_paths
    assert (await probes._answer("GET", "/metrics"))[0].startswith("200")


def test_the_worker_is_given_longer_to_stop_than_its_jobs_get_to_finish() -> None:
    completion_wait = queue.worker.__kwdefaults__["completion_wait"]
    (worker,) = [
        r
        for r in resources()
        if r["metadata"]["name"] == "campaign-worker" and r["kind"] == "Deployment"
    ]
    assert (
        worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= completion_wait + 5
    )
    grace = compose()["services"]["worker"]["stop_grace_period"]
    assert int(grace.removesuffix("s")) >= completion_wait + 5


@pytest.mark.parametrize("service", ["api", "projector", "worker"])
def test_compose_starts_the_roles_after_the_migration(service: str) -> None:
    services = compose()["services"]
    assert services[service]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "noeviction" in services["redis"]["command"]
    assert services["projector"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
