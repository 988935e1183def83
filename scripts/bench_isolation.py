#!/usr/bin/env python3
"""Isolation under slow work: does one tenant's heavy request stall another tenant's reads?

For each backend (SQLite, PostgreSQL) it starts a fresh `grc serve` (helpers in
scripts/benchlib.py), takes the bootstrap org A and creates a second org B with
`grc admin create-org`/`create-key`. One thread polls `GET /api/v1/orgs/{B}` with B's key every
`--interval-ms` (20 ms) for the whole run. First it measures that polling alone for
`--baseline-seconds` (the baseline). Then org A runs three slow operations, all started together
(or one after another with `--sequential`):

  (a) evidence of `--size-mib` MiB: `POST …/evidence/upload-url`, a presigned PUT of random-ish
      bytes streamed from a generator (hashed on the way, never held in memory) into the embedded
      store, then `POST …/evidence/verify` with the SHA-256;
  (b) a plugin upload: `POST …/plugins` (`application/wasm`) of
      license_policy_plugin.component.wasm (compiled by the server);
  (c) a scan upload with `--findings` (10,000) findings in our JSON format to a new repo.

It prints two Markdown tables: one row per backend with the polling latency p50/p99/max in the
baseline and during the slow work plus each operation's duration; then, per operation, the
polling latency while that operation was running.

Usage:
    scripts/bench_isolation.py --grc ~/.cache/grc/target/debug/grc \\
        [--backend sqlite|postgres|both] [--size-mib 512] [--findings 10000] \\
        [--component PATH] [--baseline-seconds 10] [--interval-ms 20] [--sequential] \\
        [--label L] [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres] [--keep]

Quick run: `--size-mib 128 --baseline-seconds 5`.

A poll is timed from just before the request to the full response; when a poll takes longer
than the interval, the next one starts immediately. Exit status: 0 when every slow operation
succeeded, 3 when one did not (the tables show its status), 1 when a server or database could
not be set up, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchlib import (
    SetupError,
    Target,
    add_server_args,
    check_keys,
    check_server_args,
    direct_session,
    fmt_ms,
    fresh_server,
    log,
    percentile,
    tail,
)

MIB = 1024 * 1024
COMPONENT_NAME = "license_policy_plugin.component.wasm"


# --- polling --------------------------------------------------------------------------------------


@dataclass
class Poll:
    started: float  # time.monotonic()
    latency: float  # seconds
    status: int | str


class Poller(threading.Thread):
    """Polls one URL at a fixed interval until stopped; keeps every sample."""

    def __init__(self, url: str, headers: dict[str, str], interval: float):
        super().__init__(name="poller", daemon=True)
        self.url = url
        self.headers = headers
        self.interval = interval
        self.samples: list[Poll] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        session = direct_session()
        next_at = time.monotonic()
        while not self.stopping.is_set():
            started = time.monotonic()
            t0 = time.perf_counter()
            try:
                r = session.get(self.url, headers=self.headers, timeout=120)
                status: int | str = r.status_code
            except requests.RequestException as e:
                status = type(e).__name__
            self.samples.append(Poll(started, time.perf_counter() - t0, status))
            next_at = max(next_at + self.interval, time.monotonic())
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def window(self, start: float, end: float) -> list[Poll]:
        return [s for s in list(self.samples) if start <= s.started < end]


@dataclass
class PollStats:
    n: int
    p50: float
    p99: float
    max: float
    failures: Counter

    @classmethod
    def of(cls, polls: list[Poll]) -> "PollStats":
        lat = sorted(p.latency * 1000 for p in polls)
        return cls(
            n=len(polls),
            p50=percentile(lat, 50),
            p99=percentile(lat, 99),
            max=lat[-1] if lat else float("nan"),
            failures=Counter(p.status for p in polls if p.status != 200),
        )

    def cell(self) -> str:
        return f"{fmt_ms(self.p50, 1)} / {fmt_ms(self.p99, 1)} / {fmt_ms(self.max, 1)}"

    def failures_cell(self) -> str:
        if not self.failures:
            return "0"
        return ", ".join(f"{s}×{n}" for s, n in sorted(self.failures.items(), key=str))


# --- the slow operations --------------------------------------------------------------------------


@dataclass
class OpResult:
    name: str
    ok: bool = False
    started: float = float("nan")  # monotonic
    ended: float = float("nan")
    detail: str = ""
    note: str = ""  # worth reporting, not a failure
    steps: dict[str, float] = field(default_factory=dict)  # step → seconds

    @property
    def duration(self) -> float:
        return self.ended - self.started


class RandomishBody:
    """`size` bytes in 1 MiB chunks, hashed as they are sent: one random block, each chunk
    stamped with its index so no two chunks are equal. `len()` lets requests send a
    Content-Length instead of chunked encoding (S3 PUTs want a length)."""

    def __init__(self, size: int):
        self.size = size
        self.block = os.urandom(MIB)
        self.sha256 = hashlib.sha256()
        self.sent = 0

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        index = 0
        while self.sent < self.size:
            n = min(MIB, self.size - self.sent)
            chunk = (index.to_bytes(8, "big") + self.block[8:])[:n]
            self.sha256.update(chunk)
            self.sent += n
            index += 1
            yield chunk


def timed(result: OpResult, step: str, fn):
    t0 = time.perf_counter()
    try:
        return fn()
    finally:
        result.steps[step] = time.perf_counter() - t0


def describe(r: requests.Response) -> str:
    return f"HTTP {r.status_code} {r.text[:300]!r}"


def op_evidence(base: str, a: Target, size_mib: int) -> OpResult:
    result = OpResult("a: evidence")
    session = direct_session()
    org = f"{base}/api/v1/orgs/{a.org_id}"
    result.started = time.monotonic()
    try:
        r = timed(result, "upload-url", lambda: session.post(
            f"{org}/evidence/upload-url",
            json={"filename": "big.bin", "content_type": "application/octet-stream"},
            headers=a.headers, timeout=60))
        if r.status_code != 200:
            result.detail = f"upload-url: {describe(r)}"
            return result
        issued = r.json()
        body = RandomishBody(size_mib * MIB)
        r = timed(result, "put", lambda: session.put(
            issued["upload_url"], data=body,
            headers={"Content-Type": "application/octet-stream"}, timeout=(10, 1800)))
        if r.status_code != 200:
            result.detail = f"PUT: {describe(r)}"
            return result
        expected = body.sha256.hexdigest()
        r = timed(result, "verify", lambda: session.post(
            f"{org}/evidence/verify",
            json={"object_key": issued["object_key"], "expected_hash": expected},
            headers=a.headers, timeout=(10, 1800)))
        if r.status_code != 200:
            result.detail = f"verify: {describe(r)}"
            return result
        verified = r.json()
        if verified.get("sha256") != expected or verified.get("size") != size_mib * MIB:
            result.detail = f"verify answered {json.dumps(verified)[:300]}"
            return result
        result.ok = True
        return result
    except requests.RequestException as e:
        result.detail = f"{type(e).__name__}: {e}"
        return result
    finally:
        result.ended = time.monotonic()


def op_plugin(base: str, a: Target, component: bytes) -> OpResult:
    result = OpResult("b: plugin upload")
    session = direct_session()
    result.started = time.monotonic()
    try:
        r = timed(result, "upload", lambda: session.post(
            f"{base}/api/v1/orgs/{a.org_id}/plugins", data=component,
            headers={**a.headers, "Content-Type": "application/wasm"}, timeout=(10, 600)))
        if r.status_code != 201:
            result.detail = describe(r)
            return result
        result.ok = True
        return result
    except requests.RequestException as e:
        result.detail = f"{type(e).__name__}: {e}"
        return result
    finally:
        result.ended = time.monotonic()


def scan_body(findings: int) -> bytes:
    return json.dumps({
        "commit": "abc",
        "findings": [
            {"tool": "semgrep", "rule_id": f"r{i}", "category": "sast", "severity": "medium",
             "message": f"m {i}", "file": f"src/f{i}.py", "line": i}
            for i in range(1, findings + 1)
        ],
    }).encode()


def op_scan(base: str, a: Target, repo_id: int, body: bytes, findings: int) -> OpResult:
    result = OpResult(f"c: scan ({findings:,} findings)")
    session = direct_session()
    result.started = time.monotonic()
    try:
        r = timed(result, "upload", lambda: session.post(
            f"{base}/api/v1/orgs/{a.org_id}/repos/{repo_id}/scans", data=body,
            headers={**a.headers, "Content-Type": "application/json"}, timeout=(10, 600)))
        if r.status_code != 201:
            result.detail = describe(r)
            return result
        got = r.json()
        if got.get("finding_count") != findings:
            result.detail = f"finding_count {got.get('finding_count')} != {findings}"
            return result
        evaluation = got.get("evaluation") or {}
        # Controls whose plugin failed (e.g. the 100 ms deadline): the upload still succeeds.
        if evaluation.get("errors"):
            result.note = (f"{evaluation['errors']}/{evaluation.get('controls_evaluated')} "
                           "controls errored")
        result.ok = True
        return result
    except requests.RequestException as e:
        result.detail = f"{type(e).__name__}: {e}"
        return result
    finally:
        result.ended = time.monotonic()


# --- one backend ----------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    backend: str
    baseline: PollStats
    during: PollStats
    slow_window: float
    ops: list[OpResult]
    per_op: list[PollStats]
    server_died: bool
    server_errors: list[str]


def run_scenario(backend: str, args: argparse.Namespace) -> ScenarioResult:
    # Presigned URLs must outlive a slow debug-build PUT of the big object.
    extra_env = {"GRC_EVIDENCE_UPLOAD_TTL_SECS": "3600"}
    with fresh_server(backend, args, prefix="grc-bench-isolation", extra_env=extra_env) as server:
        log(f"{backend}: starting server on {server.base} (work dir {server.workdir})")
        a = server.start(args.startup_timeout)
        b = server.create_owner_org(1)
        check_keys(server.base, [a, b])

        # Everything the slow work needs is prepared before the clock starts.
        r = direct_session().post(f"{server.base}/api/v1/orgs/{a.org_id}/repos",
                                  json={"name": "bench"}, headers=a.headers, timeout=60)
        if r.status_code != 201:
            raise SetupError(f"creating the repo answered {describe(r)}")
        repo_id = r.json()["id"]
        body = scan_body(args.findings)
        log(f"{backend}: scan body {len(body) / MIB:.1f} MiB, component {len(args.component_bytes)} "
            f"bytes, evidence {args.size_mib} MiB")

        poller = Poller(f"{server.base}/api/v1/orgs/{b.org_id}", b.headers,
                        args.interval_ms / 1000)
        t_start = time.monotonic()
        poller.start()
        log(f"{backend}: baseline polling for {args.baseline_seconds:.0f}s")
        time.sleep(args.baseline_seconds)
        t_slow = time.monotonic()

        jobs = [
            lambda: op_evidence(server.base, a, args.size_mib),
            lambda: op_plugin(server.base, a, args.component_bytes),
            lambda: op_scan(server.base, a, repo_id, body, args.findings),
        ]
        ops: list[OpResult] = []
        if args.sequential:
            log(f"{backend}: slow work, one operation after another")
            for job in jobs:
                ops.append(job())
                log(f"{backend}: {ops[-1].name}: {ops[-1].duration:.2f}s ok={ops[-1].ok} "
                    f"{ops[-1].detail} {ops[-1].note}")
        else:
            log(f"{backend}: slow work, three operations at once")
            slots: list[OpResult | None] = [None] * len(jobs)

            def runner(i: int) -> None:
                slots[i] = jobs[i]()

            threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(jobs))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            ops = [s for s in slots if s is not None]
            for op in ops:
                log(f"{backend}: {op.name}: {op.duration:.2f}s ok={op.ok} {op.detail} {op.note}")
        t_end = time.monotonic()
        poller.stopping.set()
        poller.join()

        died = not server.alive()
        if died:
            log(f"server died during the run (status {server.proc.returncode}); stderr tail:")
            print(tail(server.stderr_path), file=sys.stderr)
        server_errors = server.log_lines("error", "panic", "warn")
        for line in server_errors:
            log(f"server log: {line}")
        return ScenarioResult(
            backend=backend,
            baseline=PollStats.of(poller.window(t_start, t_slow)),
            during=PollStats.of(poller.window(t_slow, t_end)),
            slow_window=t_end - t_slow,
            ops=ops,
            per_op=[PollStats.of(poller.window(op.started, op.ended)) for op in ops],
            server_died=died,
            server_errors=server_errors,
        )


# --- report ---------------------------------------------------------------------------------------


def op_cell(op: OpResult) -> str:
    if not op.ok:
        return f"failed: {op.detail[:120]}"
    note = f"; {op.note}" if op.note else ""
    if len(op.steps) > 1:
        steps = " + ".join(f"{name} {secs:.2f}" for name, secs in op.steps.items())
        return f"{op.duration:.2f} ({steps}{note})"
    return f"{op.duration:.2f}" + (f" ({op.note})" if op.note else "")


def main_row(label: str, mode: str, size_mib: int, r: ScenarioResult) -> str:
    ops = {op.name[0]: op for op in r.ops}
    failures = r.baseline.failures + r.during.failures
    failures_cell = PollStats(0, 0, 0, 0, failures).failures_cell()
    if r.server_died:
        failures_cell += " (server died)"
    cells = [
        label,
        r.backend,
        mode,
        f"{r.baseline.cell()} ({r.baseline.n})",
        f"{r.during.cell()} ({r.during.n})",
        failures_cell,
        f"{r.slow_window:.2f}",
        f"{size_mib} MiB: " + op_cell(ops["a"]),
        op_cell(ops["b"]),
        op_cell(ops["c"]),
    ]
    return "| " + " | ".join(cells) + " |"


MAIN_HEADER = (
    "| label | backend | slow work | B polls, baseline p50 / p99 / max ms (n) "
    "| B polls, during slow work p50 / p99 / max ms (n) | B polls not 200 | slow work s "
    "| (a) evidence s (upload-url + PUT + verify) | (b) plugin upload s | (c) scan upload s |\n"
    "|---|---|---|---:|---:|---|---:|---:|---:|---:|"
)

PER_OP_HEADER = (
    "| label | backend | operation | s | B polls while it ran p50 / p99 / max ms (n) |\n"
    "|---|---|---|---:|---:|"
)


def per_op_rows(label: str, r: ScenarioResult) -> list[str]:
    return [
        f"| {label} | {r.backend} | {op.name} | {op.duration:.2f}{'' if op.ok else ' (failed)'} "
        f"| {stats.cell()} ({stats.n}) |"
        for op, stats in zip(r.ops, r.per_op)
    ]


# --- main -----------------------------------------------------------------------------------------


def find_component(grc: str) -> str | None:
    """The newest license_policy_plugin component the build script produced next to `grc`."""
    profile_dir = Path(grc).resolve().parent
    patterns = [
        profile_dir / "build" / "grc-host-*" / "out" / "components" / COMPONENT_NAME,
        profile_dir.parent / "*" / "build" / "grc-host-*" / "out" / "components" / COMPONENT_NAME,
    ]
    for pattern in patterns:
        found = glob.glob(str(pattern))
        if found:
            return max(found, key=os.path.getmtime)
    return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Tenant B's read latency while tenant A runs slow work.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_server_args(p)
    p.add_argument("--size-mib", type=int, default=512, help="evidence object size (a), MiB")
    p.add_argument("--findings", type=int, default=10_000, help="findings in the scan (c)")
    p.add_argument("--component", default=None,
                   help=f"plugin component for (b); default: the build's {COMPONENT_NAME}")
    p.add_argument("--baseline-seconds", type=float, default=10.0,
                   help="polling alone before the slow work")
    p.add_argument("--interval-ms", type=float, default=20.0, help="polling interval")
    p.add_argument("--sequential", action="store_true",
                   help="run (a), (b), (c) one after another instead of at once")
    p.add_argument("--label", default="", help="value of the tables' label column")
    args = p.parse_args(argv)

    check_server_args(p, args)
    if not 1 <= args.size_mib <= 2047:
        p.error("--size-mib must be 1–2047 (the server's default evidence cap is 2 GiB)")
    if args.findings < 1 or args.baseline_seconds <= 0 or args.interval_ms <= 0:
        p.error("--findings, --baseline-seconds and --interval-ms must be positive")
    if args.component is None:
        args.component = find_component(args.grc)
        if args.component is None:
            p.error(f"no {COMPONENT_NAME} found in the build next to --grc; pass --component")
    try:
        args.component_bytes = Path(args.component).read_bytes()
    except OSError as e:
        p.error(f"--component {args.component}: {e}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log(f"component: {args.component}")
    results, failed = [], False
    for backend in args.backends:
        try:
            results.append(run_scenario(backend, args))
        except SetupError as e:
            log(f"{backend}: setup failed: {e}")
            failed = True
    mode = "one after another" if args.sequential else "all three at once"
    print(MAIN_HEADER)
    for r in results:
        print(main_row(args.label, mode, args.size_mib, r))
    print()
    print(PER_OP_HEADER)
    for r in results:
        for row in per_op_rows(args.label, r):
            print(row)
    if failed:
        return 1
    if any(not op.ok for r in results for op in r.ops) or any(r.server_died for r in results):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
