"""Shared helpers for the HTTP benchmark scripts in scripts/: start a fresh `grc serve` on a free
port with its own work dir and database (SQLite, or a throwaway PostgreSQL database), read the
bootstrap org and owner key, create more orgs with `grc admin`, verify audit chains, and
summarize latencies.

Server configuration is passed as `GRC_*` environment variables (see host/src/config.rs):
`GRC_LISTEN`, `GRC_DATA_DIR`, `GRC_DATABASE_URL`, `GRC_S3_EMBEDDED_LISTEN`, `GRC_LOG`, and
optionally `GRC_DATABASE_MAX_CONNECTIONS` plus whatever a script adds. Inherited `GRC_*`/R2
variables are dropped and `GRC_CONFIG` points at a file that does not exist, so no stray
`grc.toml` changes the setup. The first org and its owner key come from
`<data_dir>/bootstrap.json`; others are created with `grc admin create-org` and
`grc admin create-key --role owner --scopes read:*,write:*,admin:org`.

Not a benchmark itself: `import benchlib` from a script in this directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests

DEFAULT_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
OWNER_SCOPES = "read:*,write:*,admin:org"  # what the bootstrap owner key holds (ScopeSet::all)
STDERR_TAIL_LINES = 40
BACKENDS = ("sqlite", "postgres")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # the server's log colors


def direct_session() -> requests.Session:
    """A session that ignores proxy variables: everything here talks to 127.0.0.1."""
    s = requests.Session()
    s.trust_env = False
    return s


# For the few sequential calls outside the measured load (health, key checks, chain checks).
CONTROL = direct_session()


class SetupError(Exception):
    """The server or its database could not be brought up; the scenario did not run."""


@dataclass
class Target:
    """One org and an owner key for it."""

    org_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# --- PostgreSQL ---------------------------------------------------------------------------------


def psql(admin_url: str, sql: str) -> None:
    result = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin_url, "-c", sql],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SetupError(f"psql failed ({sql}): {result.stderr.strip()}")


def create_pg_database(admin_url: str) -> tuple[str, str]:
    """Creates `grc_bench_<random>` and returns (name, its URL)."""
    name = f"grc_bench_{secrets.token_hex(6)}"
    psql(admin_url, f"CREATE DATABASE {name}")
    base = admin_url.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def drop_pg_database(admin_url: str, name: str) -> None:
    try:
        psql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except SetupError as e:
        log(f"warning: could not drop {name}: {e}")


# --- the server ---------------------------------------------------------------------------------


class Server:
    """A `grc serve` process with its own work dir, port and database."""

    def __init__(
        self,
        grc: str,
        workdir: Path,
        database_url: str,
        log_level: str = "warn",
        max_connections: int | None = None,
        extra_env: dict[str, str] | None = None,
    ):
        self.grc = grc
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stderr_path = workdir / "server.stderr"
        self.stdout_path = workdir / "server.stdout"
        self.env = server_env(
            data_dir=self.data_dir,
            listen=f"127.0.0.1:{self.port}",
            database_url=database_url,
            config_file=workdir / "absent-grc.toml",
            log_level=log_level,
            max_connections=max_connections,
        )
        self.env.update(extra_env or {})
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float) -> Target:
        """Starts the server, waits for /healthz and returns the bootstrap org and owner key."""
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.grc, "serve"],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        bootstrap = self.data_dir / "bootstrap.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(
                    f"server exited with status {self.proc.returncode} during startup:\n"
                    + tail(self.stderr_path)
                )
            if bootstrap.exists() and self.healthy():
                data = json.loads(bootstrap.read_text())
                return Target(org_id=data["org_id"], api_key=data["api_key"])
            time.sleep(0.2)
        raise SetupError(
            f"server not healthy after {timeout:.0f}s:\n" + tail(self.stderr_path)
        )

    def healthy(self) -> bool:
        try:
            return CONTROL.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def admin(self, *args: str) -> dict:
        """Runs `grc admin …` against the same config and returns its JSON output."""
        result = subprocess.run(
            [self.grc, "admin", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise SetupError(f"grc admin {' '.join(args)} failed: {result.stderr.strip()}")
        return json.loads(result.stdout)

    def create_owner_org(self, index: int) -> Target:
        org = self.admin("create-org", "--name", f"bench-{index}", "--plan", "enterprise")
        key = self.admin(
            "create-key",
            "--org", org["org_id"],
            "--email", f"owner-{index}@bench.invalid",
            "--role", "owner",
            "--scopes", OWNER_SCOPES,
            "--name", "bench owner key",
        )
        return Target(org_id=org["org_id"], api_key=key["key"])

    def log_lines(self, *needles: str, limit: int = 40) -> list[str]:
        """Lines of the server's stderr containing any of `needles` (case-insensitive)."""
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return []
        text = ANSI_ESCAPE.sub("", text)
        lowered = [n.lower() for n in needles]
        hits = [ln for ln in text.splitlines() if any(n in ln.lower() for n in lowered)]
        return hits[-limit:]

    def stop(self) -> None:
        """SIGINT (the server's graceful shutdown), then SIGKILL if it lingers."""
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def server_env(
    data_dir: Path,
    listen: str,
    database_url: str,
    config_file: Path,
    log_level: str,
    max_connections: int | None,
) -> dict[str, str]:
    """The environment for the server and its CLI: ours, minus anything that configures grc."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GRC_", "R2_")) and k != "CF_ACCOUNT_ID"
    }
    env.update(
        GRC_CONFIG=str(config_file),
        GRC_LISTEN=listen,
        GRC_DATA_DIR=str(data_dir),
        GRC_DATABASE_URL=database_url,
        GRC_S3_EMBEDDED_LISTEN=f"127.0.0.1:{free_port()}",
        GRC_LOG=log_level,
    )
    if max_connections is not None:
        env["GRC_DATABASE_MAX_CONNECTIONS"] = str(max_connections)
    return env


@contextlib.contextmanager
def fresh_server(
    backend: str,
    args: argparse.Namespace,
    prefix: str = "grc-bench",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """A server on a fresh database, not yet started; stopped and cleaned up on exit.

    `args` carries the options added by `add_server_args` (`grc`, `pg_admin_url`,
    `server_log`, `db_max_connections`, `keep`). With PostgreSQL, a `grc_bench_<random>` database
    is created and dropped afterwards; the work dir is removed unless `--keep`.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-{backend}-"))
    pg_name = None
    server = None
    try:
        if backend == "postgres":
            pg_name, database_url = create_pg_database(args.pg_admin_url)
        else:
            database_url = f"sqlite://{workdir / 'data' / 'grc.db'}?mode=rwc"
        server = Server(
            args.grc,
            workdir,
            database_url,
            log_level=args.server_log,
            max_connections=args.db_max_connections,
            extra_env=extra_env,
        )
        yield server
    finally:
        if server is not None:
            server.stop()
        if pg_name is not None:
            drop_pg_database(args.pg_admin_url, pg_name)
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def add_server_args(p: argparse.ArgumentParser) -> None:
    """The options every bench script shares (see `fresh_server`)."""
    p.add_argument("--grc", required=True, help="path to the grc binary")
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL,
                   help="PostgreSQL URL used to create and drop the bench databases")
    p.add_argument("--db-max-connections", type=int, default=None,
                   help="GRC_DATABASE_MAX_CONNECTIONS; None keeps the server's default of 10")
    p.add_argument("--server-log", default="warn", help="GRC_LOG for the server")
    p.add_argument("--startup-timeout", type=float, default=300.0,
                   help="seconds to wait for /healthz (a debug build starts slowly)")
    p.add_argument("--keep", action="store_true", help="keep the work dirs (server logs)")


def check_server_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Validates `--grc` (made absolute) and sets `args.backends`."""
    if not (os.path.isfile(args.grc) and os.access(args.grc, os.X_OK)):
        p.error(f"--grc {args.grc}: not an executable file")
    args.grc = os.path.abspath(args.grc)
    args.backends = list(BACKENDS) if args.backend == "both" else [args.backend]


# --- checks ---------------------------------------------------------------------------------------


def check_keys(base: str, targets: list[Target]) -> None:
    """Each key can read its org (fails fast on a provisioning mistake, outside the timing)."""
    for t in targets:
        r = CONTROL.get(
            f"{base}/api/v1/orgs/{t.org_id}",
            headers={"Authorization": f"Bearer {t.api_key}"},
            timeout=30,
        )
        if r.status_code != 200:
            raise SetupError(f"key for org {t.org_id} answered {r.status_code}: {r.text[:300]}")


def verify_chain(base: str, target: Target) -> tuple[dict | None, str | None]:
    """`GET …/audit-log/verify` for one org: (the report, None) or (None, a problem)."""
    try:
        r = CONTROL.get(
            f"{base}/api/v1/orgs/{target.org_id}/audit-log/verify",
            headers=target.headers,
            timeout=300,
        )
    except requests.RequestException as e:
        return None, f"{target.org_id}: {type(e).__name__}"
    if r.status_code != 200:
        return None, f"{target.org_id}: HTTP {r.status_code} {r.text[:200]}"
    report = r.json()
    if report.get("valid") is not True:
        return report, (
            f"{target.org_id}: invalid after {report.get('entries_checked')} entries, "
            f"first_broken={json.dumps(report.get('first_broken'))}"
        )
    return report, None


def verify_chains(base: str, targets: list[Target]) -> tuple[int, list[str]]:
    """`GET …/audit-log/verify` per org; returns (valid count, problem descriptions)."""
    valid, problems = 0, []
    for t in targets:
        _, problem = verify_chain(base, t)
        if problem is None:
            valid += 1
        else:
            problems.append(problem)
    return valid, problems


# --- statistics -----------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def fmt_ms(value: float, digits: int = 0) -> str:
    """Milliseconds for a table cell ("—" when there is no value)."""
    return "—" if math.isnan(value) else f"{value:.{digits}f}"
