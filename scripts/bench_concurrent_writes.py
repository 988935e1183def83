#!/usr/bin/env python3
"""Concurrent-write benchmark: many clients creating repositories at once through the HTTP API.

For each backend (SQLite, PostgreSQL) and each org count (all requests in one org, or spread over
several), it starts a fresh `grc serve` on a free port with a fresh database, fires `--requests`
`POST /api/v1/orgs/{org_id}/repos` from `--clients` threads (round-robin over the orgs), then
checks every org's audit hash chain with `GET /api/v1/orgs/{org_id}/audit-log/verify`. It prints
one Markdown table row per (backend, org count), ready for docs/benchmarks.md.

Usage:
    scripts/bench_concurrent_writes.py --grc ~/.cache/grc/target/debug/grc \\
        [--backend sqlite|postgres|both] [--clients 24] [--requests 150] [--orgs 1,8] \\
        [--label after] [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

The server start/stop, bootstrap and PostgreSQL database helpers live in scripts/benchlib.py.
Server configuration is passed as `GRC_*` environment variables (see host/src/config.rs):
`GRC_LISTEN`, `GRC_DATA_DIR`, `GRC_DATABASE_URL`, `GRC_S3_EMBEDDED_LISTEN`, `GRC_LOG`, and
optionally `GRC_DATABASE_MAX_CONNECTIONS`. Inherited `GRC_*`/R2 variables are dropped and
`GRC_CONFIG` points at a file that does not exist, so no stray `grc.toml` changes the setup.
The first org and its owner key come from `<data_dir>/bootstrap.json`; the others are created
with `grc admin create-org` and `grc admin create-key --role owner --scopes read:*,write:*,admin:org`.

Latencies cover every request, whatever its outcome. The exit status is 0 even when requests
fail (5xx answers are the measurement), and 1 when a server or database could not be set up.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from benchlib import (
    SetupError,
    Target,
    add_server_args,
    check_keys,
    check_server_args,
    direct_session,
    fresh_server,
    log,
    percentile,
    tail,
    verify_chains,
)


@dataclass
class Outcome:
    """One request: HTTP status (or an exception name) and latency in seconds."""

    status: int | str
    latency: float


@dataclass
class ScenarioResult:
    backend: str
    orgs: int
    clients: int
    outcomes: list[Outcome]
    wall: float
    chains_valid: int
    chains_total: int
    chain_problems: list[str] = field(default_factory=list)
    server_died: bool = False


# --- load -----------------------------------------------------------------------------------------


def fire(
    base: str, targets: list[Target], clients: int, total: int, timeout: float
) -> tuple[list[Outcome], float]:
    """Sends `total` repo creations from `clients` threads; returns outcomes and wall seconds."""
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = direct_session()
        return local.session

    def one(i: int) -> Outcome:
        target = targets[i % len(targets)]
        body = {"name": f"bench-{uuid.uuid4()}", "languages": ["python"]}
        headers = {"Authorization": f"Bearer {target.api_key}"}
        started = time.perf_counter()
        try:
            r = session().post(
                f"{base}/api/v1/orgs/{target.org_id}/repos",
                json=body,
                headers=headers,
                timeout=timeout,
            )
            status: int | str = r.status_code
        except requests.RequestException as e:
            status = type(e).__name__
        return Outcome(status=status, latency=time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client") as pool:
        outcomes = list(pool.map(one, range(total)))
    return outcomes, time.perf_counter() - started


# --- one scenario ---------------------------------------------------------------------------------


def run_scenario(backend: str, orgs: int, args: argparse.Namespace) -> ScenarioResult:
    with fresh_server(backend, args) as server:
        log(f"{backend}, {orgs} org(s): starting server on {server.base} "
            f"(work dir {server.workdir})")
        targets = [server.start(args.startup_timeout)]
        for i in range(1, orgs):
            targets.append(server.create_owner_org(i))
        check_keys(server.base, targets)

        log(f"{backend}, {orgs} org(s): {args.requests} requests from {args.clients} clients")
        outcomes, wall = fire(server.base, targets, args.clients, args.requests, args.timeout)

        died = not server.alive()
        if died:
            log(f"server died during the run (status {server.proc.returncode}); stderr tail:")
            print(tail(server.stderr_path), file=sys.stderr)
            valid, problems = 0, ["server died; chains not verified"]
        else:
            valid, problems = verify_chains(server.base, targets)
        for p in problems:
            log(f"audit chain: {p}")
        return ScenarioResult(
            backend=backend,
            orgs=orgs,
            clients=args.clients,
            outcomes=outcomes,
            wall=wall,
            chains_valid=valid,
            chains_total=len(targets),
            chain_problems=problems,
            server_died=died,
        )


# --- report ---------------------------------------------------------------------------------------


def table_row(label: str, r: ScenarioResult) -> str:
    statuses = Counter(o.status for o in r.outcomes)
    created = statuses.get(201, 0)
    server_errors = sum(n for s, n in statuses.items() if isinstance(s, int) and s >= 500)
    by_status = ", ".join(
        f"{s}×{n}" for s, n in sorted(statuses.items(), key=lambda kv: str(kv[0]))
        if s != 201
    )
    latencies = sorted(o.latency * 1000 for o in r.outcomes)
    n = len(r.outcomes)
    chains = f"{r.chains_valid}/{r.chains_total}"
    if r.server_died:
        chains += " (server died)"
    cells = [
        label,
        r.backend,
        str(r.orgs),
        str(r.clients),
        str(n),
        str(created),
        str(server_errors),
        by_status or "—",
        f"{r.wall:.2f}",
        f"{n / r.wall:.1f}" if r.wall > 0 else "—",
        f"{percentile(latencies, 50):.0f}",
        f"{percentile(latencies, 99):.0f}",
        f"{latencies[-1]:.0f}" if latencies else "—",
        chains,
    ]
    return "| " + " | ".join(cells) + " |"


TABLE_HEADER = (
    "| label | backend | orgs | clients | requests | 201 | 5xx | non-201 by status | wall s "
    "| req/s | p50 ms | p99 ms | max ms | audit chains valid |\n"
    "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"
)


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Concurrent repository creation through the grc HTTP API.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_server_args(p)
    p.add_argument("--clients", type=int, default=24, help="concurrent client threads")
    p.add_argument("--requests", type=int, default=150, help="POSTs per scenario")
    p.add_argument(
        "--orgs", default="1,8", help="comma-separated org counts, one scenario each"
    )
    p.add_argument("--label", default="", help="value of the table's label column")
    p.add_argument("--timeout", type=float, default=120.0, help="per-request timeout, seconds")
    args = p.parse_args(argv)

    check_server_args(p, args)
    try:
        args.org_counts = [int(x) for x in args.orgs.split(",") if x.strip()]
    except ValueError:
        p.error(f"--orgs {args.orgs!r}: expected comma-separated integers")
    if not args.org_counts or min(args.org_counts) < 1:
        p.error("--orgs: every org count must be at least 1")
    if args.clients < 1 or args.requests < 1:
        p.error("--clients and --requests must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows, failed = [], False
    for backend in args.backends:
        for orgs in args.org_counts:
            try:
                result = run_scenario(backend, orgs, args)
            except SetupError as e:
                log(f"{backend}, {orgs} org(s): setup failed: {e}")
                failed = True
                continue
            rows.append(table_row(args.label, result))
            log(rows[-1])
    print(TABLE_HEADER)
    for row in rows:
        print(row)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
