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
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None, help="where to keep the stacks")
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed (pip install py-spy)")
    out = args.out or Path(tempfile.mkdtemp(prefix="klaxon-profile-")) / "stacks.txt"
    with (
        private_postgres(durable=True) as pg,
        real.TwilioThread() as fake,
        real.klaxon(pg, "bench_profile", fake, workers=1, env={}) as (served, token),
    ):
        # The first round opens every group's incident: a storm of its own,
        # not the steady state profiled here.
        real.sampled_load(served, token, seconds=1, connections=args.connections)
        duration = str(int(args.seconds))
        record = [spy, "record", "--pid", str(served.pid), "--duration", duration]
        record += ["--format", "raw", "--output", str(out), "--nonblocking", "--rate", "200"]
        sampling = subprocess.Popen(record, stdout=subprocess.DEVNULL)
        try:
            figures, _ = real.sampled_load(
                served,
                token,
                seconds=args.seconds,
                connections=args.connections,
                rate=args.rate or None,
            )
        finally:
            sampling.wait(60)
    print({k: v for k, v in figures.items() if not isinstance(v, dict | list)})
    print(f"stacks: {out}")
    print(summarize(out, args.top))


if __name__ == "__main__":
    main()
