"""deploy/docker-compose.yml and the files it mounts: two replicas behind one
port, a migration they wait for, Prometheus scraping each replica, Alertmanager
posting to the load balancer and routing Klaxon's own alerts elsewhere too.

There is no Docker engine on the test machines: the compose file is checked as
data here, and each tool's own checker validates the files it mounts (haproxy -c,
promtool check config, amtool check-config and amtool config routes test)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy._support import (
    COMPOSE_FILE,
    DEPLOY,
    PROMETHEUS_RULES,
    REPO,
    load_yaml,
    run,
    tool,
)

REPLICAS = ["klaxon-1", "klaxon-2"]
LB = "klaxon"
PORT = 8080


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE_FILE)
    return data


def _service(name: str) -> dict[str, Any]:
    service: dict[str, Any] = _compose()["services"][name]
    return service


def _bind_mounts(service: str) -> dict[str, Path]:
    """Container path -> file in the repository, for the service's bind mounts."""
    mounts: dict[str, Path] = {}
    for volume in _service(service).get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[target] = (COMPOSE_FILE.parent / source).resolve()
    return mounts


def _mounted(service: str, container_path: str) -> Path:
    return _bind_mounts(service)[container_path]


def _haproxy_config() -> str:
    return _mounted(LB, "/usr/local/etc/haproxy/haproxy.cfg").read_text()


def _alertmanager_config_path() -> Path:
    return _mounted("alertmanager", "/etc/alertmanager/alertmanager.yml")


def _prometheus_config_path() -> Path:
    return _mounted("prometheus", "/etc/prometheus/prometheus.yml")


# -- the compose file itself ----------------------------------------------------------


def test_every_bind_mounted_file_and_build_input_exists() -> None:
    services = _compose()["services"]
    mounted = [path for name in services for path in _bind_mounts(name).values()]
    assert len(mounted) >= 4
    for path in mounted:
        assert path.is_file(), f"{path} is mounted but missing"
        assert REPO in path.parents
    for name, service in services.items():
        if "build" in service:
            context = (COMPOSE_FILE.parent / service["build"]["context"]).resolve()
            assert context == REPO, name
            assert (context / service["build"]["dockerfile"]).is_file(), name


def test_two_klaxon_replicas_of_one_image_and_configuration() -> None:
    first, second = (_service(name) for name in REPLICAS)
    assert first == second
    assert first["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "ports" not in first  # reached through the load balancer only


def test_replicas_wait_for_a_one_shot_migration() -> None:
    migrate = _service("migrate")
    assert migrate["command"] == ["klaxon", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["image"] == _service(REPLICAS[0])["image"]
    assert (
        migrate["environment"]["KLAXON_DATABASE_URL"]
        == (_service(REPLICAS[0])["environment"]["KLAXON_DATABASE_URL"])
    )
    for name in REPLICAS:
        service = _service(name)
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["db"] == {"condition": "service_healthy"}
        # The migration has run; the replicas do not run it again.
        assert service["environment"]["KLAXON_MIGRATE_ON_START"] == "false"


def test_klaxon_settings_point_at_the_database_service_and_secrets_are_not_literals() -> None:
    env = _service(REPLICAS[0])["environment"]
    url = env["KLAXON_DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://")
    assert "@db:5432/" in url
    db_env = _service("db")["environment"]
    assert f"/{db_env['POSTGRES_DB']}" in url and f"//{db_env['POSTGRES_USER']}:" in url
    # Secrets come from deploy/.env or the shell, and compose refuses to start without them.
    assert re.search(r"\$\{POSTGRES_PASSWORD:\?[^}]*\}", url)
    assert re.fullmatch(r"\$\{KLAXON_ADMIN_TOKEN:\?[^}]*\}", env["KLAXON_ADMIN_TOKEN"])
    for name in ("KLAXON_TWILIO_ACCOUNT_SID", "KLAXON_TWILIO_AUTH_TOKEN"):
        assert env[name] is None  # passed through when set, never written here
    # The rules file the replicas read is the one mounted from the repository.
    assert _mounted(REPLICAS[0], env["KLAXON_CONFIG"]) == DEPLOY / "klaxon.example.yaml"


# -- the load balancer ---------------------------------------------------------------


def test_haproxy_config_is_valid() -> None:
    result = run([tool("haproxy"), "-c", "-f", "haproxy.cfg"], cwd=DEPLOY / "compose")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr
    # The replicas' names resolve only inside compose's network; nothing else may warn.
    warnings = [line for line in result.stderr.splitlines() if "[WARNING]" in line]
    for line in warnings:
        assert "could not resolve address" in line, line


def test_load_balancer_publishes_one_port_and_forwards_to_both_replicas() -> None:
    assert _service(LB)["ports"] == [f"{PORT}:{PORT}"]
    config = _haproxy_config()
    assert re.search(rf"^\s*bind :{PORT}$", config, re.MULTILINE)
    servers = re.findall(r"^\s*server (\S+) (\S+)", config, re.MULTILINE)
    assert sorted(address for _, address in servers) == [f"{r}:{PORT}" for r in REPLICAS]
    # Only ready replicas get traffic.
    assert re.search(r"^\s*option httpchk GET /readyz$", config, re.MULTILINE)
    assert set(_service(LB)["depends_on"]) == set(REPLICAS)


def test_load_balancer_does_not_publish_metrics() -> None:
    assert re.search(r"http-request deny .* if \{ path /metrics \}", _haproxy_config())


# -- Prometheus -----------------------------------------------------------------------


def test_prometheus_scrapes_metrics_of_each_replica_by_name() -> None:
    config = load_yaml(_prometheus_config_path())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "klaxon"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert sorted(targets) == [f"{r}:{PORT}" for r in REPLICAS]
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_prometheus_scrapes_with_the_metrics_token_the_replicas_require() -> None:
    """The replicas answer /metrics only with KLAXON_METRICS_TOKEN; Prometheus
    sends that same variable, mounted as a secret file, never written here."""
    config = load_yaml(_prometheus_config_path())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "klaxon"]
    authorization = job["authorization"]
    assert authorization["type"] == "Bearer"
    assert "credentials" not in authorization
    secret_path = Path(authorization["credentials_file"])
    assert secret_path.parent == Path("/run/secrets")
    assert secret_path.name in _service("prometheus")["secrets"]
    assert _compose()["secrets"][secret_path.name] == {"environment": "KLAXON_METRICS_TOKEN"}
    env = _service(REPLICAS[0])["environment"]
    assert re.fullmatch(r"\$\{KLAXON_METRICS_TOKEN:\?[^}]*\}", env["KLAXON_METRICS_TOKEN"])
    # The API documents are not served through the published port either.
    assert env["KLAXON_DOCS_ENABLED"] == "false"


def test_prometheus_loads_klaxons_alert_rules_from_the_repository() -> None:
    config = load_yaml(_prometheus_config_path())
    mounts = _bind_mounts("prometheus")
    assert [mounts[path] for path in config["rule_files"]] == [PROMETHEUS_RULES]


def test_prometheus_config_passes_promtool_check_config(tmp_path: Path) -> None:
    """promtool reads the rule files too: point them at the mounted repository files."""
    config = load_yaml(_prometheus_config_path())
    mounts = _bind_mounts("prometheus")
    config["rule_files"] = [str(mounts[path]) for path in config["rule_files"]]
    # promtool checks that the token file exists; compose mounts it from a secret.
    token_file = tmp_path / "klaxon_metrics_token"
    token_file.write_text("kx_metrics")
    for job in config["scrape_configs"]:
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token_file)
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config))
    result = run([tool("promtool"), "check", "config", str(checked)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


# -- Alertmanager ---------------------------------------------------------------------


def _alertmanager_config() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(_alertmanager_config_path())
    return data


def _receiver(name: str) -> dict[str, Any]:
    receivers: list[dict[str, Any]] = _alertmanager_config()["receivers"]
    (receiver,) = [r for r in receivers if r["name"] == name]
    return receiver


def test_alertmanager_config_passes_amtool_check_config() -> None:
    result = run([tool("amtool"), "check-config", str(_alertmanager_config_path())])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alertmanager_posts_to_klaxon_through_the_load_balancer_with_the_mounted_token() -> None:
    assert _alertmanager_config()["route"]["receiver"] == "klaxon"
    (webhook,) = _receiver("klaxon")["webhook_configs"]
    url = urlsplit(webhook["url"])
    assert (url.hostname, url.port, url.path) == (LB, PORT, "/api/v1/webhooks/alertmanager")
    assert webhook["send_resolved"] is True
    authorization = webhook["http_config"]["authorization"]
    assert authorization["type"] == "Bearer"
    assert "credentials" not in authorization  # no token in the file
    secret_path = Path(authorization["credentials_file"])
    assert secret_path.parent == Path("/run/secrets")
    assert secret_path.name in _service("alertmanager")["secrets"]
    assert _compose()["secrets"][secret_path.name] == {"environment": "KLAXON_INGEST_TOKEN"}


def test_the_second_channel_and_the_dead_mans_switch_do_not_go_through_klaxon() -> None:
    klaxon_hosts = {LB, *REPLICAS}
    for name in ("klaxon-fallback", "deadmans-switch"):
        receiver = _receiver(name)
        urls = [c["url"] for c in receiver.get("webhook_configs", [])]
        urls += [c["api_url"] for c in receiver.get("slack_configs", [])]
        assert urls, name
        for url in urls:
            assert urlsplit(url).hostname not in klaxon_hosts, (name, url)
            assert urlsplit(url).scheme == "https"


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        # Klaxon's own alerts: a second channel first, Klaxon as well.
        (["alertname=KlaxonDown", "service=klaxon", "severity=critical"], "klaxon-fallback,klaxon"),
        (["alertname=KlaxonNotificationsFailing", "service=klaxon"], "klaxon-fallback,klaxon"),
        # The Watchdog: an outside dead man's switch, and Klaxon's heartbeat.
        (["alertname=Watchdog", "severity=none"], "deadmans-switch,klaxon-watchdog"),
        # Everything else: Klaxon.
        (["alertname=HighErrorRate", "service=checkout"], "klaxon"),
    ],
)
def test_amtool_routes(labels: list[str], receivers: str) -> None:
    result = run(
        [
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={_alertmanager_config_path()}",
            f"--verify.receivers={receivers}",
            *labels,
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers


def test_every_klaxon_self_alert_carries_the_label_the_routing_matches() -> None:
    rules = load_yaml(PROMETHEUS_RULES)
    alerts = [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    assert len(alerts) >= 6
    for rule in alerts:
        if rule["alert"] == "Watchdog":
            assert rule["expr"] == "vector(1)"
        else:
            assert rule["labels"]["service"] == "klaxon", rule["alert"]


def test_watchdog_pings_klaxons_heartbeat_through_the_load_balancer() -> None:
    (webhook,) = _receiver("klaxon-watchdog")["webhook_configs"]
    url = urlsplit(webhook["url"])
    assert (url.hostname, url.port) == (LB, PORT)
    assert re.fullmatch(r"/api/v1/heartbeats/[a-z0-9-]+/ping", url.path)
    assert webhook["send_resolved"] is False
    (watchdog_route,) = [
        r for r in _alertmanager_config()["route"]["routes"] if r["receiver"] == "klaxon-watchdog"
    ]
    assert watchdog_route["repeat_interval"] == "1m"
