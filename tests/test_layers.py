"""The import graph of ``app/``: no circle, and no import from a lower floor to a
higher one, ``TYPE_CHECKING`` blocks and function-level imports included.

The floors, top to bottom (a module may import its own floor and any below)::

    8 entry points        main, asgi, openapi, the klaxon command
    7 HTTP routers        every *endpoints module, deps, ops, tokens, chat
    6 stage orders        pipeline (ingest); worker (the durable timers) and its
                          timers package (what is due, housekeeping)
    5 stages             sources, ingest, incidents, response, oncall, escalation,
                          notify, replies, review, heartbeats
    4 rules and runtime   rules (consulted by every stage), runtime, auth, rate limits
    3 currency            events, results, timeline, models, metrics, errors, clock,
                          claim (the first due row no replica holds)…
    2 database            db, migrate
    1 settings

The imports are read with ``ast``, not by importing, so an import that runs only
under ``TYPE_CHECKING`` or inside a function counts like any other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

#: Module name (or package prefix) → floor. The longest matching prefix wins;
#: every module of app/ must match one (the test says which do not).
FLOORS: dict[str, int] = {
    "app.main": 8,
    "app.engine_process": 8,  # klaxon engine: the worker without the HTTP side
    "app.asgi": 8,
    "app.openapi": 8,
    "app.cli": 8,
    "app.chat": 7,  # an entry point: Slack's requests in, the cards it keeps out
    "app.deps": 7,
    "app.api_errors": 7,
    "app.ops": 7,
    "app.tokens": 7,
    "app.pipeline": 6,
    "app.worker": 6,
    "app.timers": 6,  # the worker's parts: what is due, housekeeping
    "app.sources": 5,
    "app.ingest": 5,
    "app.incidents": 5,
    "app.response": 5,
    "app.oncall": 5,
    "app.escalation": 5,
    "app.notify": 5,
    "app.replies": 5,
    "app.review": 5,
    "app.heartbeats": 5,
    "app.statuspage": 5,  # the public status page; its two routers are floor 7
    "app.maintenance": 5,
    "app.automation": 5,  # actions, action steps, outgoing webhooks (issue 19)
    "app.rules": 4,
    "app.runtime": 4,
    "app.transaction": 4,  # the commit boundary: unit of work and after-commit hooks
    "app.auth": 4,
    "app.ratelimit": 4,
    "app.console": 7,
    "app.live": 3,
    "app.wakeups": 3,  # NOTIFY/LISTEN between web workers and the engine process
    "app.events": 3,
    "app.results": 3,
    "app.timeline": 3,
    "app.models": 3,
    "app.metrics": 3,
    "app.errors": 3,
    "app.clock": 3,
    "app.phones": 3,
    "app.durations": 3,
    "app.yamlfile": 3,
    "app.http": 3,
    "app.body_limit": 3,
    "app.claim": 3,  # claiming due rows across replicas (SKIP LOCKED)
    "app.db": 2,
    "app.migrate": 3,  # runs Alembic, whose comparison reads the models
    "app.settings": 1,
    "app": 1,  # the package's own __init__
}
#: The whole on-call document (issue 12 item 4): a stage that gathers oncall,
#: escalation policies, heartbeats and maintenance windows; its route is floor 7.
FLOORS["app.apply"] = 5
ROUTER_FLOOR = 7  # any module named endpoints / *_endpoint(s) is a router

#: Imports that break the floors today, each to be removed by the work named.
#: A new upward import or circle fails the test; so does an entry here that is gone.
#: Empty since issue 12: the heartbeat expiry gets the pipeline from the worker,
#: and page_info moved from the engine to notify/.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    modules = {}
    for path in APP.rglob("*.py"):
        parts = list(path.relative_to(APP.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _imported(module: str, path: Path) -> Iterator[str]:
    """The app modules ``module`` imports, relative imports resolved; ``from p
    import name`` counts as importing ``p.name`` when that is a module."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [name if name in MODULES else base for name in names]
        else:
            continue
        for name in names:
            while name not in MODULES and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in MODULES and name != module:
                yield name


def _graph() -> dict[str, set[str]]:
    return {module: set(_imported(module, path)) for module, path in MODULES.items()}


def floor(module: str) -> int:
    last = module.rsplit(".", 1)[-1]
    if last == "endpoints" or last.endswith(("_endpoint", "_endpoints")):
        return ROUTER_FLOOR
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in FLOORS:
            return FLOORS[prefix]
    raise KeyError(module)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_every_module_has_a_floor() -> None:
    missing = []
    for module in MODULES:
        try:
            floor(module)
        except KeyError:
            missing.append(module)
    assert missing == [], "add these to FLOORS in tests/test_layers.py"


def test_no_import_circle() -> None:
    assert _circles(_graph()) == []


def test_no_import_from_a_lower_floor_to_a_higher_one() -> None:
    upward = {
        (module, target)
        for module, targets in _graph().items()
        for target in targets
        if floor(target) > floor(module)
    }
    assert upward - KNOWN_UPWARD == set(), "imports that go up a floor"
    assert KNOWN_UPWARD - upward == set(), "gone: remove them from KNOWN_UPWARD"


def test_the_graph_reader_sees_type_checking_and_relative_imports(tmp_path: Path) -> None:
    """The checks above can fail: the reader finds the imports they look for."""
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from app.worker import Worker\n"
        "def later() -> None:\n"
        "    from . import pipeline\n"
    )
    assert set(_imported("app.probe", source)) == {"app.worker", "app.pipeline"}
    looped = {"app.a": {"app.b"}, "app.b": {"app.c"}, "app.c": {"app.a"}, "app.d": {"app.a"}}
    assert _circles(looped) == [["app.a", "app.b", "app.c"]]
    assert floor("app.runtime") < floor("app.worker")
    assert floor("app.sources.pagerduty_endpoint") == ROUTER_FLOOR
