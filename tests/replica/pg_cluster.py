"""A throw-away PostgreSQL primary and its hot standby, for the read-replica tests.

Both servers are the test's own: ``initdb`` into a temporary directory (trust authentication,
127.0.0.1 only, free ports), then ``pg_basebackup -R`` of that primary (streaming replication,
``standby.signal`` written by ``-R``) into a second directory, started as a hot standby. Nothing
touches the machine's own PostgreSQL. Run as root (a container), the servers run as the
``postgres`` account, which PostgreSQL requires. Stopped and deleted at the end."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

NEEDED = ("initdb", "pg_ctl", "pg_basebackup", "postgres")


def server_binaries() -> Path | None:
    """The directory holding PostgreSQL's server programs (not only the client ``psql``)."""
    candidates = []
    if shutil.which("pg_config"):
        result = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    candidates += [Path(p) for p in glob.glob("/usr/local/pgsql/bin")]
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)
    for directory in candidates:
        if all((directory / name).exists() for name in NEEDED):
            return directory
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``primary`` and ``standby`` ports on 127.0.0.1, user ``postgres``, trust authentication."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="mediation-replica-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.primary_port, self.standby_port = free_port(), free_port()
        self.primary_dir, self.standby_dir = self.root / "primary", self.root / "standby"
        self.running: list[Path] = []

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def _tool(self, name: str) -> str:
        return str(self.bindir / name)

    def url(self, which: str, database: str = "postgres") -> str:
        port = self.primary_port if which == "primary" else self.standby_port
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    def start(self) -> Cluster:
        self._run(self._tool("initdb"), "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        settings = {
            "listen_addresses": "'127.0.0.1'", "port": str(self.primary_port),
            "unix_socket_directories": f"'{self.root}'", "wal_level": "replica", "max_wal_senders": "4",
            "hot_standby": "on", "fsync": "off", "full_page_writes": "off", "shared_buffers": "32MB",
            "max_connections": "30", "wal_keep_size": "64MB",
            # Replay paused by a test must not be overtaken by a query cancellation elsewhere.
            "max_standby_streaming_delay": "-1",
        }
        with open(self.primary_dir / "postgresql.conf", "a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        self._start(self.primary_dir)
        self._run(self._tool("pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                  "-D", str(self.standby_dir), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        with open(self.standby_dir / "postgresql.auto.conf", "a") as conf:
            conf.write(f"port = {self.standby_port}\n")
        self._start(self.standby_dir)
        return self

    def _start(self, directory: Path) -> None:
        self._run(self._tool("pg_ctl"), "-D", str(directory), "-l", str(self.root / f"{directory.name}.log"),
                  "-w", "-t", "60", "start")
        self.running.append(directory)

    def stop_standby(self) -> None:
        self._stop(self.standby_dir)

    def start_standby(self) -> None:
        self._start(self.standby_dir)

    def _stop(self, directory: Path) -> None:
        if directory in self.running:
            self._run(self._tool("pg_ctl"), "-D", str(directory), "-m", "fast", "-w", "stop")
            self.running.remove(directory)

    def close(self) -> None:
        for directory in list(reversed(self.running)):
            with contextlib.suppress(RuntimeError):
                self._stop(directory)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- replication controls -----------------------------------------------------------------------

    def _standby_sql(self, sql: str):
        engine = sa.create_engine(self.url("standby"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                return connection.execute(sa.text(sql)).scalar()
        finally:
            engine.dispose()

    def pause_replay(self) -> None:
        self._standby_sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self._standby_sql("SELECT pg_wal_replay_resume()")

    def wait_replayed(self, timeout: float = 30.0) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        engine = sa.create_engine(self.url("primary"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                target = connection.scalar(sa.text("SELECT pg_current_wal_lsn()"))
        finally:
            engine.dispose()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._standby_sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
                return
            time.sleep(0.05)
        raise AssertionError(f"the standby has not replayed {target} within {timeout} s")
