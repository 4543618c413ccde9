#!/usr/bin/env python3
"""A small action executor for Klaxon's auto-remediation: standard library only.

It listens for Klaxon's action requests, checks their Standard Webhooks signature
(the same secret as KLAXON_AUTOMATION_SECRET), runs the command configured for
the request's path once per Idempotency-Key, and answers with the command's
exit status and the start of its output, which Klaxon puts on the incident's
timeline. Requests older than 5 minutes are refused (replays).

    EXECUTOR_SECRET=whsec_... python3 deploy/examples/executor.py \\
        --port 9090 --run /restart-payments='systemctl restart payments'

and in the rules file: ``url: http://127.0.0.1:9090/restart-payments``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return False
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    return any(
        version == "v1" and hmac.compare_digest(expected, sig)
        for version, _, sig in (
            part.partition(",") for part in headers.get("webhook-signature", "").split()
        )
    )


def make_handler(secret: str, commands: dict[str, list[str]]) -> type[BaseHTTPRequestHandler]:
    done: dict[str, tuple[int, dict[str, object]]] = {}  # Idempotency-Key -> answer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not signature_ok(secret, headers, body):
                return self._answer(401, {"error": "bad or stale signature"})
            command = commands.get(self.path)
            if command is None:
                return self._answer(404, {"error": f"no command for {self.path}"})
            key = headers.get("idempotency-key", "")
            if key not in done:  # a retry of a request already run gets the same answer
                ran = subprocess.run(command, capture_output=True, text=True, timeout=60)
                status = 200 if ran.returncode == 0 else 500
                done[key] = (status, {"exit": ran.returncode, "output": ran.stdout[-500:]})
            self._answer(*done[key])

        def _answer(self, status: int, payload: dict[str, object]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--run", action="append", default=[], metavar="/PATH=COMMAND")
    args = parser.parse_args()
    commands = {path: shlex.split(cmd) for path, _, cmd in (r.partition("=") for r in args.run)}
    server = ThreadingHTTPServer(
        (args.host, args.port), make_handler(os.environ["EXECUTOR_SECRET"], commands)
    )
    print(f"executor on http://{args.host}:{args.port}: {', '.join(commands) or 'no commands'}")
    server.serve_forever()


if __name__ == "__main__":
    main()
