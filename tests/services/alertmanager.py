"""A throwaway Prometheus Alertmanager for end-to-end tests.

``private_alertmanager()`` runs the real Debian ``prometheus-alertmanager`` binary on a
free 127.0.0.1 port with a single webhook receiver pointing at the system under test,
so tests exercise genuine grouping, retry and resolve behaviour rather than a fake.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["ALERTMANAGER_BIN", "AMTOOL_BIN", "PrivateAlertmanager", "private_alertmanager"]

ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager"
AMTOOL_BIN = "/usr/bin/amtool"
DEFAULT_GROUP_BY = ("alertname", "service")
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
_INSTALL_HINT = "run `apt-get install prometheus-alertmanager`"

# A proxy from the environment must never see traffic meant for 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _label_key(labels: Mapping[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def build_config(
    webhook_url: str,
    bearer_token: str,
    group_by: list[str] | None = None,
    repeat_interval: str = "1h",
) -> dict[str, Any]:
    return {
        "route": {
            "receiver": "klaxon",
            "group_by": list(DEFAULT_GROUP_BY) if group_by is None else group_by,
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": repeat_interval,
        },
        "receivers": [
            {
                "name": "klaxon",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "http_config": {
                            "authorization": {"type": "Bearer", "credentials": bearer_token},
                        },
                    }
                ],
            }
        ],
    }


class PrivateAlertmanager:
    """One Alertmanager process. Use via ``private_alertmanager()``."""

    def __init__(
        self,
        webhook_url: str,
        bearer_token: str,
        *,
        group_by: list[str] | None = None,
        repeat_interval: str = "1h",
    ) -> None:
        for binary in (ALERTMANAGER_BIN, AMTOOL_BIN):
            if shutil.which(binary) is None:
                raise RuntimeError(f"{binary} not found; {_INSTALL_HINT}")
        self._tmp = Path(tempfile.mkdtemp(prefix="klaxon-am-"))
        self.config_file = self._tmp / "alertmanager.yml"
        self.logfile = self._tmp / "alertmanager.log"
        self.port = _free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._fired: dict[frozenset[tuple[str, str]], dict[str, Any]] = {}
        # JSON is valid YAML, and json.dumps quotes URLs and tokens safely.
        self.config_file.write_text(
            json.dumps(build_config(webhook_url, bearer_token, group_by, repeat_interval), indent=2)
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_config(self) -> None:
        proc = subprocess.run(
            [AMTOOL_BIN, "check-config", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"amtool check-config rejected the config:\n{proc.stdout}{proc.stderr}"
            )

    def start(self) -> None:
        if self._proc is not None:
            return
        with self.logfile.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    ALERTMANAGER_BIN,
                    f"--config.file={self.config_file}",
                    f"--storage.path={self._tmp / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    f"--web.external-url={self.url}",
                    # Empty disables clustering; the default gossips on 0.0.0.0:9094.
                    "--cluster.listen-address=",
                    "--log.level=debug",
                ],
                cwd=self._tmp,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                raise RuntimeError(f"alertmanager exited with code {code}:\n{self.log_tail()}")
            try:
                with _OPENER.open(f"{self.url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                exc.close()
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"alertmanager not ready after {READY_TIMEOUT:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST alerts to the v2 API, as Prometheus would."""
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with _OPENER.open(request, timeout=10) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            with exc:
                body = exc.read().decode(errors="replace")
            raise RuntimeError(f"alertmanager rejected alerts ({exc.code}): {body}") from None

    def fire(
        self, labels: Mapping[str, str], annotations: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Raise an alert with no end time; returns the alert as posted."""
        alert: dict[str, Any] = {
            "labels": dict(labels),
            "annotations": dict(annotations or {}),
            "startsAt": _now(),
        }
        self.post_alerts([alert])
        self._fired[_label_key(labels)] = alert
        return alert

    def resolve(
        self, labels: Mapping[str, str], annotations: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Resolve an alert by re-posting its labels with ``endsAt`` = now.

        Reuses the annotations and start time from the matching ``fire()`` so the
        resolved notification looks like one from Prometheus.
        """
        fired = self._fired.pop(_label_key(labels), None)
        alert: dict[str, Any] = {"labels": dict(labels), "endsAt": _now()}
        if fired is not None:
            alert["startsAt"] = fired["startsAt"]
            alert["annotations"] = fired["annotations"]
        if annotations is not None:
            alert["annotations"] = dict(annotations)
        self.post_alerts([alert])
        return alert


@contextmanager
def private_alertmanager(
    webhook_url: str,
    bearer_token: str,
    *,
    group_by: list[str] | None = None,
    repeat_interval: str = "1h",
) -> Iterator[PrivateAlertmanager]:
    """Run Alertmanager routing every alert to ``webhook_url`` with a bearer token;
    a short ``repeat_interval`` makes it resend a firing group that soon."""
    am = PrivateAlertmanager(
        webhook_url, bearer_token, group_by=group_by, repeat_interval=repeat_interval
    )
    try:
        am.check_config()
        am.start()
        yield am
    finally:
        am.close()
