"""A throwaway PostgreSQL server for the test session: initdb + pg_ctl on a free port, stopped at the end.

``initdb`` refuses to run as root: when the tests run as root (CI does), the server runs as the
``postgres`` user, in a temporary folder it owns. ``KITGEN_TEST_POSTGRES_BIN`` names the folder of
the server binaries when they are not in one of the usual places.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")


def server_binaries() -> Path:
    """The folder holding initdb and pg_ctl; an error saying how to get them when there is none."""
    named = os.environ.get("KITGEN_TEST_POSTGRES_BIN")
    for folder in [named] if named else [*CANDIDATES, *_on_path()]:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise RuntimeError(
        "the PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
        "apt-get install postgresql-15, or set KITGEN_TEST_POSTGRES_BIN"
    )


def _on_path() -> list[str]:
    found = shutil.which("initdb")
    return [str(Path(found).parent)] if found else []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running server; ``url(database)`` connects to one of its databases as ``postgres``."""

    binaries: Path
    folder: Path
    port: int
    user: str | None  # the system user running it (None: this process's user)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        data = self.folder / "data"
        initdb = self._run(
            str(self.binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr}")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        started = self._run(
            str(self.binaries / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "server.log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        if started.returncode != 0:
            log = (
                (self.folder / "server.log").read_text(errors="replace")
                if (self.folder / "server.log").exists()
                else ""
            )
            raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{log}")

    def stop(self) -> None:
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> Server:
    """A new server in a new temporary folder, run by ``postgres`` when this process is root."""
    binaries = server_binaries()
    folder = Path(tempfile.mkdtemp(prefix="kitgen-pg-"))
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = Server(binaries, folder, free_port(), user)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return server


def new_database_name() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"
