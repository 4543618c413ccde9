"""RSS and CPU of a server's processes, read from /proc while the load runs.

uvicorn with one worker serves in its own process; with more, a supervisor
forks one process per worker. ``klaxon serve`` on PostgreSQL also starts the
escalation engine's process (``klaxon engine``). ``ProcessSampler`` samples the
whole tree every ``interval`` in a thread; figures are per web worker process
(the supervisor serves nothing and is left out when it has workers), and the
engine's apart.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; it ends at the last ')'.
    return text[text.rindex(")") + 2 :].split()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    """The processes ``pid`` forked to serve: not multiprocessing's resource tracker."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = int(entry.name)
            fields = _stat(child)
            if (
                fields is not None
                and int(fields[1]) == pid
                and "resource_tracker" not in _cmdline(child)
            ):
                found.append(child)
    return sorted(found)


def is_engine(pid: int) -> bool:
    """Whether ``pid`` is the escalation engine's process (``klaxon engine``)."""
    return _cmdline(pid).split()[-1:] == ["engine"]


def rss_bytes(pid: int) -> int | None:
    try:
        resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
    except (OSError, IndexError):
        return None
    return int(resident) * _PAGE


def cpu_seconds(pid: int) -> float | None:
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


@dataclass
class ProcessSampler:
    pid: int
    interval: float = 0.5
    samples: dict[int, list[int]] = field(default_factory=dict)
    _cpu_start: dict[int, float] = field(default_factory=dict)
    _cpu_end: dict[int, float] = field(default_factory=dict)
    _started: float = 0.0
    _elapsed: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    engines_seen: set[int] = field(default_factory=set)  # the engine's pids, as it stopped
    _thread: threading.Thread | None = None

    def _tree(self) -> tuple[list[int], list[int]]:
        """The processes that serve HTTP, and the engine's: one walk of /proc."""
        kids = children(self.pid)
        engines = [c for c in kids if is_engine(c)]
        return [c for c in kids if c not in engines] or [self.pid], engines

    def engines(self) -> list[int]:
        return self._tree()[1]

    def _all(self) -> list[int]:
        workers, engines = self._tree()
        return workers + engines

    def start(self) -> None:
        self._started = time.monotonic()
        for pid in self._all():
            self._cpu_start[pid] = cpu_seconds(pid) or 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            for pid in self._all():
                rss = rss_bytes(pid)
                if rss is not None:
                    self.samples.setdefault(pid, []).append(rss)
            if self._stop.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._elapsed = time.monotonic() - self._started
        self.engines_seen = set(self.engines())
        for pid in self._all():
            self._cpu_end[pid] = cpu_seconds(pid) or 0.0

    def summary(self) -> dict[str, Any]:
        """Per web worker process, and for the engine's process: RSS at the start
        and end of the load and its peak (MB), and the share of a core it used."""
        mb = 1024 * 1024
        per_process: dict[str, list[dict[str, Any]]] = {"workers": [], "engine": []}
        for pid, values in sorted(self.samples.items()):
            cpu = self._cpu_end.get(pid, 0.0) - self._cpu_start.get(pid, 0.0)
            per_process["engine" if pid in self.engines_seen else "workers"].append(
                {
                    "pid": pid,
                    "rss_start_mb": round(values[0] / mb, 1),
                    "rss_end_mb": round(values[-1] / mb, 1),
                    "rss_peak_mb": round(max(values) / mb, 1),
                    "cpu": round(cpu / self._elapsed, 2) if self._elapsed else None,
                }
            )
        per_worker = per_process["workers"]
        summary: dict[str, Any] = {
            "workers": per_worker,
            "rss_peak_mb": max((w["rss_peak_mb"] for w in per_worker), default=None),
            "cpu": round(sum(w["cpu"] or 0.0 for w in per_worker), 2),
        }
        if per_process["engine"]:
            summary["engine"] = per_process["engine"]
        return summary


def growth(values: list[int], interval: float, warmup: float) -> dict[str, Any]:
    """A soak's memory: RSS once warmed up (``warmup`` seconds in), at the end and
    at its peak (MB), and the growth from warm to end (%)."""
    mb = 1024 * 1024
    warm = values[min(int(warmup / interval), len(values) - 1)]
    end = values[-1]
    return {
        "rss_warm_mb": round(warm / mb, 1),
        "rss_end_mb": round(end / mb, 1),
        "rss_peak_mb": round(max(values) / mb, 1),
        "growth_pct": round((end - warm) / warm * 100, 1),
        "samples": len(values),
    }
