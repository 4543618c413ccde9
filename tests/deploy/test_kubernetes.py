"""deploy/kubernetes: the manifests validate against the API's schemas, and keep
their promises (two replicas, probes, resources, non-root, secrets by reference,
a PDB and a Service that select the pods, a Job that migrates)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from app.rules import load_rules
from tests.deploy._support import (
    DEPLOY,
    KUBERNETES,
    PROMETHEUS_RULES,
    RULES_EXAMPLE,
    load_all_yaml,
    load_yaml,
    run,
    tool,
)

# The oldest Kubernetes the manifests promise to work on (policy/v1 PDBs,
# batch/v1 Jobs with ttlSecondsAfterFinished are long since GA there).
KUBERNETES_VERSION = "1.33.0"
MANIFESTS = sorted(KUBERNETES.glob("*.yaml"))
KUBERNETES_SCRAPE = DEPLOY / "prometheus" / "kubernetes-scrape.yml"
SECRETISH = re.compile(r"TOKEN|SECRET|PASSWORD|SID|DATABASE_URL", re.IGNORECASE)


def _resources() -> dict[str, dict[str, Any]]:
    """Every object in deploy/kubernetes, by "Kind/name"."""
    found: dict[str, dict[str, Any]] = {}
    for path in MANIFESTS:
        for doc in load_all_yaml(path):
            found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return found


def _deployment() -> dict[str, Any]:
    return _resources()["Deployment/klaxon"]


def _job() -> dict[str, Any]:
    return _resources()["Job/klaxon-migrate"]


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def test_the_manifests_are_the_expected_objects() -> None:
    assert set(_resources()) == {
        "ConfigMap/klaxon-prometheus-rules",
        "ConfigMap/klaxon-rules",
        "Deployment/klaxon",
        "Job/klaxon-migrate",
        "PodDisruptionBudget/klaxon",
        "Service/klaxon",
    }


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_validates_strictly_against_the_kubernetes_schema(path: Path) -> None:
    for doc in load_all_yaml(path):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_strict_validation_rejects_a_misspelt_field() -> None:
    """The check above can fail: a typo the API server would drop is refused."""
    broken = copy.deepcopy(_deployment())
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {
        "httpGet": {"path": "/readyz", "port": "http"}
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_deployment_runs_two_replicas_that_are_never_both_down_in_a_rollout() -> None:
    spec = _deployment()["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_probes_ready_on_readyz_alive_on_healthz_on_the_served_port() -> None:
    container = _container(_deployment())
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = _env(container)
    served = int(env["KLAXON_PORT"]["value"])
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == served
    # Containers must listen beyond loopback (Klaxon's default is 127.0.0.1).
    assert env["KLAXON_HOST"]["value"] == "0.0.0.0"


@pytest.mark.parametrize("workload", ["Deployment/klaxon", "Job/klaxon-migrate"])
def test_workload_sets_resources_and_runs_as_non_root(workload: str) -> None:
    obj = _resources()[workload]
    container = _container(obj)
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]
    pod_security = obj["spec"]["template"]["spec"]["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("workload", ["Deployment/klaxon", "Job/klaxon-migrate"])
def test_secrets_come_from_secret_key_refs_never_literals(workload: str) -> None:
    env = _env(_container(_resources()[workload]))
    secret_names = [name for name in env if SECRETISH.search(name)]
    assert "KLAXON_DATABASE_URL" in secret_names
    for name in secret_names:
        assert "value" not in env[name], f"{name} is a literal in {workload}"
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "klaxon"


def test_deployment_takes_admin_and_twilio_credentials_from_the_secret() -> None:
    env = _env(_container(_deployment()))
    for name in (
        "KLAXON_ADMIN_TOKEN",
        "KLAXON_TWILIO_ACCOUNT_SID",
        "KLAXON_TWILIO_AUTH_TOKEN",
        "KLAXON_TWILIO_FROM",
    ):
        assert "secretKeyRef" in env[name]["valueFrom"], name


def test_service_and_pdb_select_the_server_pods_and_not_the_migration() -> None:
    objs = _resources()
    server_labels = _deployment()["spec"]["template"]["metadata"]["labels"]
    job_labels = _job()["spec"]["template"]["metadata"]["labels"]
    deployment_selector = _deployment()["spec"]["selector"]["matchLabels"]
    assert _selects(deployment_selector, server_labels)
    service_selector = objs["Service/klaxon"]["spec"]["selector"]
    pdb_selector = objs["PodDisruptionBudget/klaxon"]["spec"]["selector"]["matchLabels"]
    for selector in (service_selector, pdb_selector):
        assert _selects(selector, server_labels)
        assert not _selects(selector, job_labels)
    # One replica may go at a time, never both.
    assert objs["PodDisruptionBudget/klaxon"]["spec"]["minAvailable"] == 1


def test_service_forwards_to_the_container_port() -> None:
    container = _container(_deployment())
    named = {port["name"]: port["containerPort"] for port in container["ports"]}
    (port,) = _resources()["Service/klaxon"]["spec"]["ports"]
    assert port["targetPort"] in named


def test_migration_job_runs_klaxon_migrate_with_the_deployments_image() -> None:
    job_container = _container(_job())
    command = job_container.get("command", []) + job_container.get("args", [])
    assert command == ["klaxon", "migrate"]
    assert job_container["image"] == _container(_deployment())["image"]
    assert _job()["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    # The Deployment relies on the Job: its pods do not migrate themselves.
    env = _env(_container(_deployment()))
    assert env["KLAXON_MIGRATE_ON_START"]["value"] == "false"


def test_rules_configmap_is_mounted_where_klaxon_config_points() -> None:
    deployment = _deployment()
    container = _container(deployment)
    config_path = Path(_env(container)["KLAXON_CONFIG"]["value"])
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == config_path.parent]
    configmap_name = volumes[mount["name"]]["configMap"]["name"]
    configmap = _resources()[f"ConfigMap/{configmap_name}"]
    assert config_path.name in configmap["data"]


def test_rules_configmap_carries_the_example_rules_byte_for_byte_and_they_load(
    tmp_path: Path,
) -> None:
    embedded = _resources()["ConfigMap/klaxon-rules"]["data"]["klaxon.yaml"]
    assert embedded == RULES_EXAMPLE.read_text()
    copy_path = tmp_path / "klaxon.yaml"
    copy_path.write_text(embedded)
    rules = load_rules(copy_path)  # raises RulesError on an invalid file
    assert rules.routes


def test_prometheus_rules_configmap_is_the_rules_file_byte_for_byte() -> None:
    embedded = _resources()["ConfigMap/klaxon-prometheus-rules"]["data"]["klaxon-rules.yml"]
    assert embedded == PROMETHEUS_RULES.read_text()


# -- Prometheus' scrape job: each server pod, with the metrics token ------------------


def _scrape_job() -> dict[str, Any]:
    config: dict[str, Any] = load_yaml(KUBERNETES_SCRAPE)
    (job,) = config["scrape_configs"]
    assert isinstance(job, dict)
    return job


def _pod_targets(workload: dict[str, Any]) -> list[dict[str, str]]:
    """The labels Prometheus' pod discovery gives a pod of the workload: one
    target per container port (one without a port if it has none)."""
    template = workload["spec"]["template"]
    labels = {
        "__meta_kubernetes_pod_label_" + re.sub(r"[^A-Za-z0-9_]", "_", name): value
        for name, value in template["metadata"]["labels"].items()
    }
    ports = [p for c in template["spec"]["containers"] for p in c.get("ports", [])] or [{}]
    port_name = "__meta_kubernetes_pod_container_port_name"
    return [{**labels, port_name: port.get("name", "")} for port in ports]


def _kept(job: dict[str, Any], target: dict[str, str]) -> bool:
    for rule in job["relabel_configs"]:
        if rule.get("action") == "keep":
            values = [target.get(name, "") for name in rule["source_labels"]]
            value = rule.get("separator", ";").join(values)
            if re.fullmatch(rule["regex"], value) is None:
                return False
    return True


def test_scrape_job_keeps_each_server_pods_http_port_and_not_the_migration() -> None:
    job = _scrape_job()
    assert job["job_name"] == "klaxon"
    assert 'job="klaxon"' in PROMETHEUS_RULES.read_text()  # what the alert rules watch
    assert job["metrics_path"] == "/metrics"
    assert [sd["role"] for sd in job["kubernetes_sd_configs"]] == ["pod"]
    kept = [t for t in _pod_targets(_deployment()) if _kept(job, t)]
    assert [t["__meta_kubernetes_pod_container_port_name"] for t in kept] == ["http"]
    assert not [t for t in _pod_targets(_job()) if _kept(job, t)]
    # The check can fail: a pod of another app is dropped.
    other = {**kept[0], "__meta_kubernetes_pod_label_app_kubernetes_io_name": "other"}
    assert not _kept(job, other)


def test_scrape_job_sends_the_metrics_token_the_pods_require() -> None:
    env = _env(_container(_deployment()))
    assert env["KLAXON_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "klaxon",
        "key": "metrics-token",
    }
    assert env["KLAXON_DOCS_ENABLED"]["value"] == "false"
    authorization = _scrape_job()["authorization"]
    assert authorization["type"] == "Bearer"
    assert "credentials" not in authorization  # a file from the Secret, never a literal
    assert Path(authorization["credentials_file"]).name == "metrics-token"
    # An annotation-driven scrape carries no token: it would only collect 401s.
    annotations = _deployment()["spec"]["template"]["metadata"].get("annotations", {})
    assert not [name for name in annotations if name.startswith("prometheus.io/")]


def test_scrape_job_passes_promtool_check_config(tmp_path: Path) -> None:
    """Debian's promtool is built without Kubernetes discovery: the job is checked
    with a static target in its place; the rest (authorization, relabelling) as is."""
    job = _scrape_job()
    del job["kubernetes_sd_configs"]
    job["static_configs"] = [{"targets": ["klaxon-pod:8080"]}]
    token = tmp_path / "metrics-token"  # promtool checks that the file exists
    token.write_text("kx_metrics")
    job["authorization"]["credentials_file"] = str(token)
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump({"scrape_configs": [job]}))
    result = run([tool("promtool"), "check", "config", str(checked)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
