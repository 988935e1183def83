#!/usr/bin/env python3
"""Authz overhead: requests/s of the real, authenticated and Cedar-authorized
`GET /api/v1/orgs/{org_id}` divided by a bare axum handler returning the same bytes.

For each backend (SQLite, PostgreSQL) it starts a fresh `grc serve` (helpers in
scripts/benchlib.py), fetches the org with the bootstrap owner key, and writes that body to a
file. The peer is `host/examples/bare_axum.rs` (axum + tokio only: no auth, no database, no
middleware; the same allocator as `grc`, mimalloc) serving that file on the same route. Both get the same wrk load
(`-t2 -c16 -d15s` by default, the same `Authorization` header) one after the other, and the
script prints both rates and their ratio.

The peer is built with `cargo build -p grc-host --example bare_axum` in the target dir of
`--grc` (its `../..`), the debug profile, like the `grc` it is compared with; both therefore run
workspace code at opt-level 0 and dependencies (axum, hyper, tokio, cedar, sqlx) at opt-level 1
(`[profile.dev.package."*"]` in Cargo.toml). The build waits until no `cargo` process is
running (another build shares the target dir); `--bare PATH` skips it. wrk is installed with
apt-get when missing, as scripts/setup.sh does for jq.

Usage:
    scripts/bench_authz_overhead.py --grc ~/.cache/grc/target/debug/grc \\
        [--backend sqlite|postgres|both] [--threads 2] [--connections 16] [--duration 15] \\
        [--bare PATH] [--label L] [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

The server runs with GRC_LOG=warn (no per-request log lines), as in the other bench scripts.
Exit status: 0 on success, 1 when a server, the peer or wrk could not be set up, 3 when a run
had non-2xx answers or socket errors (the table shows them), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from benchlib import (
    CONTROL,
    SetupError,
    add_server_args,
    check_keys,
    check_server_args,
    free_port,
    fresh_server,
    log,
    tail,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    log("wrk not found: installing it with apt-get")
    result = subprocess.run(
        "apt-get update -q && apt-get install -y -q wrk", shell=True,
        capture_output=True, text=True,
    )
    wrk = shutil.which("wrk")
    if result.returncode != 0 or wrk is None:
        raise SetupError(f"could not install wrk: {result.stderr.strip()[-500:]}")
    return wrk


def cargo_running() -> bool:
    return subprocess.run(["pgrep", "-x", "cargo"], capture_output=True).returncode == 0


def build_bare(grc: str, wait: float) -> str:
    """Builds the peer in `grc`'s target dir (debug profile) and returns its path."""
    target_dir = Path(grc).resolve().parent.parent
    deadline = time.monotonic() + wait
    while cargo_running():
        if time.monotonic() > deadline:
            raise SetupError(f"a cargo process is still running after {wait:.0f}s; "
                             "build the peer later or pass --bare")
        log("waiting for the running cargo process to finish before building the peer")
        time.sleep(10)
    log(f"cargo build -p grc-host --example bare_axum (CARGO_TARGET_DIR={target_dir})")
    env = {**os.environ, "CARGO_TARGET_DIR": str(target_dir)}
    result = subprocess.run(
        ["cargo", "build", "--locked", "-p", "grc-host", "--example", "bare_axum"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SetupError(f"building bare_axum failed:\n{result.stderr[-3000:]}")
    path = target_dir / "debug" / "examples" / "bare_axum"
    if not path.is_file():
        raise SetupError(f"built bare_axum, but {path} is missing")
    return str(path)


@dataclass
class WrkResult:
    rps: float
    latency_avg: str
    requests: int
    non_2xx: int
    socket_errors: str

    @property
    def clean(self) -> bool:
        return self.non_2xx == 0 and not self.socket_errors


def run_wrk(wrk: str, url: str, headers: list[str], args: argparse.Namespace) -> WrkResult:
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           "--latency"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    log(" ".join(c if not c.startswith("Authorization") else "Authorization: Bearer sk-…"
                 for c in cmd))
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 120)
    out = result.stdout
    if result.returncode != 0 or "Requests/sec" not in out:
        raise SetupError(f"wrk failed ({result.returncode}): {out}\n{result.stderr}")
    for line in out.splitlines():
        log(f"  wrk: {line}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = re.search(r"^\s+Latency\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket = re.search(r"Socket errors:\s*(.+)", out)
    return WrkResult(
        rps=rps,
        latency_avg=latency.group(1) if latency else "?",
        requests=int(total.group(1)) if total else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket.group(1).strip() if socket else "",
    )


@dataclass
class ScenarioResult:
    backend: str
    body_bytes: int
    grc: WrkResult
    bare: WrkResult


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"{url}: the process exited with status {proc.returncode}")
        try:
            CONTROL.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SetupError(f"{url}: no answer after {timeout:.0f}s")


def run_scenario(backend: str, wrk: str, bare: str, args: argparse.Namespace) -> ScenarioResult:
    with fresh_server(backend, args, prefix="grc-bench-authz") as server:
        log(f"{backend}: starting server on {server.base} (work dir {server.workdir})")
        a = server.start(args.startup_timeout)
        check_keys(server.base, [a])
        path = f"/api/v1/orgs/{a.org_id}"
        r = CONTROL.get(server.base + path, headers=a.headers, timeout=30)
        if r.status_code != 200:
            raise SetupError(f"GET {path} answered {r.status_code}")
        body_file = server.workdir / "org.json"
        body_file.write_bytes(r.content)

        port = free_port()
        with open(server.workdir / "bare.stderr", "wb") as err:
            peer = subprocess.Popen([bare, str(port), str(body_file)], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err)
        try:
            bare_url = f"http://127.0.0.1:{port}{path}"
            wait_http(bare_url, peer)
            same = CONTROL.get(bare_url, timeout=5).content
            if same != r.content:
                raise SetupError("the peer does not answer the same bytes as the server")
            headers = [f"Authorization: Bearer {a.api_key}"]
            log(f"{backend}: wrk against grc ({len(r.content)}-byte body)")
            grc_result = run_wrk(wrk, server.base + path, headers, args)
            if not server.alive():
                raise SetupError("the server died under wrk:\n" + tail(server.stderr_path))
            log(f"{backend}: wrk against bare_axum")
            bare_result = run_wrk(wrk, bare_url, headers, args)
        finally:
            peer.terminate()
            try:
                peer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                peer.kill()
                peer.wait()
        for line in server.log_lines("error", "panic"):
            log(f"server log: {line}")
        return ScenarioResult(backend, len(r.content), grc_result, bare_result)


TABLE_HEADER = (
    "| label | backend | wrk | grc req/s (avg latency) | bare axum req/s (avg latency) "
    "| ratio grc / bare | non-2xx or socket errors |\n"
    "|---|---|---|---:|---:|---:|---|"
)


def table_row(label: str, args: argparse.Namespace, r: ScenarioResult) -> str:
    problems = []
    for name, w in (("grc", r.grc), ("bare", r.bare)):
        if w.non_2xx:
            problems.append(f"{name}: {w.non_2xx} non-2xx")
        if w.socket_errors:
            problems.append(f"{name}: {w.socket_errors}")
    cells = [
        label,
        r.backend,
        f"-t{args.threads} -c{args.connections} -d{args.duration}s",
        f"{r.grc.rps:,.0f} ({r.grc.latency_avg})",
        f"{r.bare.rps:,.0f} ({r.bare.latency_avg})",
        f"{r.grc.rps / r.bare.rps:.3f}" if r.bare.rps else "—",
        "; ".join(problems) or "0",
    ]
    return "| " + " | ".join(cells) + " |"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Authenticated, Cedar-authorized GET vs a bare axum handler, with wrk.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_server_args(p)
    p.add_argument("--threads", type=int, default=2, help="wrk -t")
    p.add_argument("--connections", type=int, default=16, help="wrk -c")
    p.add_argument("--duration", type=int, default=15, help="wrk -d, seconds")
    p.add_argument("--bare", default=None,
                   help="a built bare_axum example; default: build it next to --grc")
    p.add_argument("--build-wait", type=float, default=1800.0,
                   help="seconds to wait for a running cargo before building the peer")
    p.add_argument("--label", default="", help="value of the table's label column")
    args = p.parse_args(argv)
    check_server_args(p, args)
    if args.threads < 1 or args.connections < args.threads or args.duration < 1:
        p.error("need --threads ≥ 1, --connections ≥ --threads and --duration ≥ 1")
    if args.bare is not None and not os.access(args.bare, os.X_OK):
        p.error(f"--bare {args.bare}: not an executable file")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        wrk = ensure_wrk()
        bare = args.bare or build_bare(args.grc, args.build_wait)
    except SetupError as e:
        log(f"setup failed: {e}")
        return 1
    results, failed = [], False
    for backend in args.backends:
        try:
            results.append(run_scenario(backend, wrk, bare, args))
        except SetupError as e:
            log(f"{backend}: setup failed: {e}")
            failed = True
    print(TABLE_HEADER)
    for r in results:
        print(table_row(args.label, args, r))
    print()
    profiles = {Path(p).resolve().parent.name if Path(p).resolve().parent.name != "examples"
                else Path(p).resolve().parent.parent.name for p in (args.grc, bare)}
    print(f"Profiles (from the binaries' target dirs): {', '.join(sorted(profiles))}; "
          f"grc at {args.grc}, peer at {bare}.")
    if failed:
        return 1
    return 0 if all(r.grc.clean and r.bare.clean for r in results) else 3


if __name__ == "__main__":
    sys.exit(main())
