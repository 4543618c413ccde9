"""Klaxon's hot path under the bench's load, sampled (issue 13: profile first).

``python -m tests.perf.profile --seconds 15`` starts one worker on the real case
(durable PostgreSQL, the example on-call, the fake Twilio), attaches py-spy
(``pip install py-spy``; not a dependency of Klaxon) to it while the fleet's
notifications come in (as fast as it answers, or ``--rate`` a second as in the
paging run), and prints the functions most often on the CPU (their own time)
and most often on the stack (time below them), as shares of the samples:
shares, unlike times, hold up on a busy machine. The raw stacks stay in a file
for a flame graph.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from tests.perf import real
from tests.services.postgres import private_postgres

WARMUP = 2.0  # seconds of load before the measured ones (run_fleet's default)


def _function(frame: str) -> str:
    """``fn (path/file.py:12)`` → ``fn (path/file.py)``: lines apart, one function."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def summarize(stacks: Path, top: int) -> str:
    """Self and inclusive shares per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    below: Counter[str] = Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames:
            continue
        n = int(count)
        total += n
        names = [
            f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0] for f in frames.split(";")
        ]
        own[names[-1]] += n
        for name in set(names):
            below[name] += n
    lines = [f"{total} samples", f"-- own time, top {top}"]
    lines += [f"{n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines += [f"-- on the stack, top {top}"]
    lines += [f"{n / total:6.1%}  {name}" for name, n in below.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.0, help="webhooks/s (0: as fast as it can)")
    parser.add_argument("--resolve-share", type=float, default=0.0, help="share of posts resolving")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None, help="where to keep the stacks")
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed (pip install py-spy)")
    out = args.out or Path(tempfile.mkdtemp(prefix="klaxon-profile-")) / "stacks.txt"
    record = [spy, "record", "--duration", str(int(args.seconds + WARMUP))]
    record += ["--format", "raw", "--output", str(out), "--nonblocking", "--rate", "200"]
    sampling: list[subprocess.Popen[bytes]] = []
    with (
        private_postgres(durable=True) as pg,
        real.TwilioThread() as fake,
        real.klaxon(pg, "bench_profile", fake, workers=1, env={}) as (served, token),
    ):
        # Sampled from the end of the first round (every group's first
        # notification opens its incident: a storm of its own, not the steady
        # state profiled here) to the end of the run.
        def start() -> None:
            command = [*record, "--pid", str(served.pid)]
            sampling.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))

        try:
            figures, _ = real.sampled_load(
                served,
                token,
                seconds=args.seconds,
                warmup=WARMUP,
                connections=args.connections,
                rate=args.rate or None,
                resolve_share=args.resolve_share,
                on_steady=start,
            )
        finally:
            for process in sampling:
                process.wait(60)
    print({k: v for k, v in figures.items() if not isinstance(v, dict | list)})
    print(f"stacks: {out}")
    print(summarize(out, args.top))


if __name__ == "__main__":
    main()
