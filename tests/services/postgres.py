"""A throwaway PostgreSQL server for tests.

``private_postgres()`` initialises a fresh cluster in a temp dir, starts it on a free
127.0.0.1 port with durability switched off (tests never need crash safety; the
benchmark asks for ``durable=True``, PostgreSQL's defaults), and
tears everything down on exit. ``PrivatePostgres.stop()``/``start()`` let failure
drills take the database away mid-test and bring it back on the same port and data;
``freeze()``/``thaw()`` stop and continue its processes (SIGSTOP, SIGCONT), so that
it holds every connection open and answers nothing.

PostgreSQL refuses to run as root, and tests and CI do run as root, so in that case
the server runs as a dedicated unprivileged system user.
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SERVICE_USER", "PrivatePostgres", "private_postgres"]

SERVICE_USER = "klaxonpg"
DB_USER = "klaxon"
DB_NAME = "klaxon"

_SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    # Losing data in an OS crash is fine for tests; losing a commit when the tests
    # stop the server (pg_ctl -m immediate) is not: a webhook answered 200 must have
    # its data after the restart. So commits reach the kernel (synchronous_commit),
    # never the disk (fsync).
    "fsync": "off",
    "synchronous_commit": "on",
    "full_page_writes": "off",
    "max_connections": "200",
}
# What a durable server (``durable=True``, for the benchmark) keeps of the above:
# PostgreSQL's own defaults for everything else, fsync and full_page_writes on.
_DURABLE_SETTINGS = {key: _SERVER_SETTINGS[key] for key in ("listen_addresses", "max_connections")}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_INSTALL_HINT = "PostgreSQL server binaries not found; run `apt-get install postgresql`"


def _find_bindir() -> Path:
    # /usr/local/bin only carries symlinks for some tools; resolving initdb gets us the
    # real versioned bin dir, which also has psql/createdb without Debian's pg_wrapper.
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    # Prefer the newest major version if several are installed.
    bindirs = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    bindirs.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    if bindirs:
        return bindirs[-1]
    raise RuntimeError(_INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ensure_service_user() -> pwd.struct_passwd:
    """Return the unprivileged server user, creating it if needed.

    Parallel test processes must not run useradd concurrently: racing calls have been
    seen to both "succeed", the later one rewriting the entry with a different uid, so
    the earlier process chowned its files to a uid the server no longer runs as.
    A file lock serialises creation; the name is re-checked once the lock is held.
    """
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    lock_path = Path(tempfile.gettempdir()) / f".{SERVICE_USER}-useradd.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return pwd.getpwnam(SERVICE_USER)
        except KeyError:
            pass
        proc = subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            return pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise RuntimeError(
                f"could not create system user {SERVICE_USER!r}: {proc.stderr.strip()}"
            ) from None


def _clean_env() -> dict[str, str]:
    # Stray PGHOST/PGPORT/PGDATA etc. from the caller's shell would redirect our tools.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


class PrivatePostgres:
    """One private PostgreSQL cluster. Use via ``private_postgres()``."""

    def __init__(self, *, durable: bool = False) -> None:
        self._settings = _DURABLE_SETTINGS if durable else _SERVER_SETTINGS
        self._bindir = _find_bindir()
        for tool in ("initdb", "pg_ctl", "postgres", "psql"):
            if not (self._bindir / tool).is_file():
                raise RuntimeError(f"{self._bindir / tool} missing. {_INSTALL_HINT}")
        self._as_root = os.geteuid() == 0
        self._owner = _ensure_service_user() if self._as_root else None
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.user = DB_USER
        self.database = DB_NAME
        self._tmp = Path(tempfile.mkdtemp(prefix="klaxon-pg-"))
        self.datadir = self._tmp / "data"
        self.logfile = self._tmp / "postgres.log"
        self._running = False
        if self._owner is not None:
            # The whole temp tree belongs to the server user so it can create the data
            # dir, its socket and its log; root can still remove it afterwards.
            self.logfile.touch()
            for path in (self._tmp, self.logfile):
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)

    @property
    def url(self) -> str:
        """SQLAlchemy async URL for the default ``klaxon`` database."""
        return self.url_for(self.database)

    @property
    def dsn(self) -> str:
        """libpq-style DSN for the default database, e.g. for ``asyncpg.connect``."""
        return self.dsn_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._running

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _run(self, args: Sequence[str], *, as_server_user: bool) -> None:
        cmd = list(args)
        if as_server_user and self._owner is not None:
            cmd = ["runuser", "-u", self._owner.pw_name, "--", *cmd]
        proc = subprocess.run(
            cmd,
            # The server user may not be able to enter the caller's cwd.
            cwd=self._tmp,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed with exit code {proc.returncode}\n"
                f"{proc.stdout}{proc.stderr}\n--- postgres log ---\n{self.log_tail()}"
            )

    def initialise(self) -> None:
        self._run(
            [
                str(self._bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            as_server_user=True,
        )

    def start(self) -> None:
        """Start (or restart) the server on the same port and data dir; waits until ready."""
        if self._running:
            return
        settings = {
            **self._settings,
            "port": str(self.port),
            "unix_socket_directories": str(self._tmp),
        }
        options = " ".join(f"-c {key}={value}" for key, value in settings.items())
        self._run(
            [
                str(self._bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-o",
                options,
            ],
            as_server_user=True,
        )
        self._running = True

    def stop(self) -> None:
        """Stop the server abruptly, as a crash or network loss would look to clients."""
        if not self._running:
            return
        self._run(
            [
                str(self._bindir / "pg_ctl"),
                "stop",
                "-w",
                "-m",
                "immediate",
                "-D",
                str(self.datadir),
            ],
            as_server_user=True,
        )
        self._running = False

    def _server_pids(self) -> list[int]:
        """The postmaster first, then every process it forked (backends, walwriter...)."""
        postmaster = int((self.datadir / "postmaster.pid").read_text().split()[0])
        children: list[int] = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # "pid (comm) state ppid ...": comm may hold spaces, so split after it.
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended meanwhile
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def freeze(self) -> None:
        """SIGSTOP the whole server: connections stay open and nothing answers,
        as with a hung host or a network that drops packets (the postmaster
        first, so that it forks no new backend meanwhile)."""
        for pid in self._server_pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT every process of the server, the postmaster last."""
        for pid in reversed(self._server_pids()):
            os.kill(pid, signal.SIGCONT)

    def psql(self, sql: str, database: str = "postgres") -> None:
        self._run(
            [
                str(self._bindir / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-c",
                sql,
            ],
            as_server_user=False,
        )

    def create_database(self, name: str) -> str:
        """Create an extra database (afresh, if a fixture made it before) and
        return its SQLAlchemy async URL."""
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"unsafe database name {name!r}")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)


@contextmanager
def private_postgres(*, durable: bool = False) -> Iterator[PrivatePostgres]:
    """Run a private PostgreSQL 15 server with an empty ``klaxon`` database;
    ``durable`` keeps PostgreSQL's default durability (fsync, full_page_writes)."""
    pg = PrivatePostgres(durable=durable)
    try:
        pg.initialise()
        pg.start()
        pg.create_database(DB_NAME)
        yield pg
    finally:
        pg.close()
