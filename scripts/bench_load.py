#!/usr/bin/env python3
"""Load: a mixed read/write workload from many clients, then a check that no write was lost.

For each backend (SQLite, PostgreSQL) it starts a fresh `grc serve` (helpers in
scripts/benchlib.py), takes the bootstrap org A, creates a second org B with
`grc admin create-org`/`create-key`, and registers `--repos` repositories in each. Then
`--clients` threads (32) run for `--seconds` (120); a quarter of them work in org B, the rest in
org A. Each thread repeatedly picks one flow at random (weights from `--mix`):

  read      one of `GET /api/v1/orgs/{org}`, `…/members`, `…/repos`, `…/audit-log?limit=20`
  scan      `POST …/repos/{id}/scans` of a small JSON scan (3 findings, unique commit) to one of
            the org's repos
  evidence  `POST …/evidence/upload-url` → presigned PUT of 4 KiB of random bytes (the embedded
            S3 endpoint, same process) → `POST …/evidence/verify` →
            `POST …/evidence/{sha256}/link-to-control` (CC6.1, soc2)
  policy    `POST …/access-policies` (a forbid for auditors on member.list, which no bench key
            has) then `DELETE` it

Flows in progress when the time is up are finished; throughput is requests over the wall time
until the last one ends. An error is any answer other than the expected 2xx (every 5xx, every
unexpected 4xx) or a transport failure; a flow stops at its first error.

Then, outside the timing, the "lost writes" check, per org: every repository, scan, verified
evidence and evidence link that answered 2xx must be listed or fetchable; every policy whose
DELETE answered 204 must be gone and every other created policy must still exist; the audit
chain must verify (`GET …/audit-log/verify` → `valid: true`) with `entries_checked` at least
the number of audited writes that answered 2xx; and for each audited action, the audit log must
hold at least as many entries as such writes.

It prints two Markdown tables: one row per backend (throughput, latency, errors, lost writes,
audit), then one row per (backend, request kind).

Usage:
    scripts/bench_load.py --grc ~/.cache/grc/target/debug/grc \\
        [--backend sqlite|postgres|both] [--seconds 120] [--clients 32] [--repos 3] \\
        [--mix read=50,scan=20,evidence=15,policy=15] [--label L] [--seed 1] \\
        [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres] [--keep]

Quick run: `--seconds 20`.

Exit status: 0 when the run had no errors and no lost writes, 3 when it had some (the tables
show them), 1 when a server or database could not be set up, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import requests

from benchlib import (
    CONTROL,
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
    verify_chain,
)

POLICY = (
    'forbid (principal, action == Action::"member.list", resource) '
    'when { principal.role == "auditor" };'
)
READS = {
    "read org": "",
    "read members": "/members",
    "read repos": "/repos",
    "read audit-log": "/audit-log?limit=20",
}
KINDS = [
    *READS,
    "scan upload",
    "evidence upload-url",
    "evidence PUT (S3)",
    "evidence verify",
    "evidence link",
    "policy create",
    "policy delete",
]
# The audit action each successful write records (the PUT goes to the object store: no entry).
AUDIT_ACTION = {
    "repo create": "REPOSITORY_CREATED",
    "scan upload": "SCAN_INGESTED",
    "evidence upload-url": "EVIDENCE_UPLOAD_URL_ISSUED",
    "evidence verify": "EVIDENCE_VERIFIED",
    "evidence link": "EVIDENCE_LINKED",
    "policy create": "ACCESS_POLICY_CREATED",
    "policy delete": "ACCESS_POLICY_DELETED",
}


@dataclass
class Sample:
    kind: str
    org: str
    status: int | str
    latency: float  # seconds
    error: bool


@dataclass
class Ledger:
    """What one org's clients wrote and were told succeeded."""

    repos: list[int] = field(default_factory=list)
    scans: list[tuple[int, str]] = field(default_factory=list)  # (repo_id, scan_id)
    evidence: dict[str, str] = field(default_factory=dict)  # evidence id → sha256
    links: list[tuple[str, str]] = field(default_factory=list)  # (evidence id, link id)
    policies_live: set[str] = field(default_factory=set)
    policies_deleted: set[str] = field(default_factory=set)
    audited: Counter = field(default_factory=Counter)  # audit action → successful writes


class Client:
    """One client thread's session, RNG and outputs."""

    def __init__(self, base: str, target: Target, label: str, repos: list[int],
                 mix: list[tuple[str, int]], rng: random.Random):
        self.base = base
        self.org_url = f"{base}/api/v1/orgs/{target.org_id}"
        self.target = target
        self.label = label
        self.repos = repos
        self.flows = [name for name, _ in mix]
        self.weights = [w for _, w in mix]
        self.rng = rng
        self.session = direct_session()
        self.samples: list[Sample] = []
        self.ledger = Ledger()

    def call(self, kind: str, method: str, url: str, expect: int, auth: bool = True,
             **kwargs) -> requests.Response | None:
        """One timed request; returns the response when it answered `expect`, else None."""
        headers = dict(kwargs.pop("headers", {}))
        if auth:
            headers.update(self.target.headers)
        t0 = time.perf_counter()
        try:
            r = self.session.request(method, url, headers=headers, timeout=120, **kwargs)
            status: int | str = r.status_code
        except requests.RequestException as e:
            r, status = None, type(e).__name__
        latency = time.perf_counter() - t0
        ok = status == expect
        self.samples.append(Sample(kind, self.label, status, latency, not ok))
        if not ok and r is not None:
            log(f"{self.label} {kind}: HTTP {status} {r.text[:300]!r}")
        elif not ok:
            log(f"{self.label} {kind}: {status}")
        if ok:
            action = AUDIT_ACTION.get(kind)
            if action is not None:
                self.ledger.audited[action] += 1
        return r if ok else None

    def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            flow = self.rng.choices(self.flows, self.weights)[0]
            getattr(self, f"flow_{flow}")()

    def flow_read(self) -> None:
        kind = self.rng.choice(list(READS))
        self.call(kind, "GET", self.org_url + READS[kind], 200)

    def flow_scan(self) -> None:
        repo_id = self.rng.choice(self.repos)
        body = {
            "commit": uuid.uuid4().hex[:12],
            "branch": "main",
            "findings": [
                {"tool": "semgrep", "rule_id": f"r{i}", "category": "sast",
                 "severity": "medium", "message": f"m {i}", "file": f"src/f{i}.py", "line": i}
                for i in range(1, 4)
            ],
        }
        r = self.call("scan upload", "POST", f"{self.org_url}/repos/{repo_id}/scans", 201,
                      json=body)
        if r is not None:
            self.ledger.scans.append((repo_id, r.json()["id"]))

    def flow_evidence(self) -> None:
        r = self.call("evidence upload-url", "POST", f"{self.org_url}/evidence/upload-url", 200,
                      json={"filename": "e.bin", "content_type": "application/octet-stream"})
        if r is None:
            return
        issued = r.json()
        data = os.urandom(4096)
        sha = hashlib.sha256(data).hexdigest()
        if self.call("evidence PUT (S3)", "PUT", issued["upload_url"], 200, auth=False,
                     data=data, headers={"Content-Type": "application/octet-stream"}) is None:
            return
        r = self.call("evidence verify", "POST", f"{self.org_url}/evidence/verify", 200,
                      json={"object_key": issued["object_key"], "expected_hash": sha})
        if r is None:
            return
        verified = r.json()
        if verified.get("sha256") != sha or verified.get("already_verified"):
            log(f"{self.label} evidence verify: unexpected answer {verified}")
            self.samples[-1].error = True
            return
        self.ledger.evidence[verified["id"]] = sha
        r = self.call("evidence link", "POST", f"{self.org_url}/evidence/{sha}/link-to-control",
                      200, json={"control_id": "CC6.1", "framework_id": "soc2",
                                 "object_key": issued["object_key"]})
        if r is None:
            return
        link = r.json()
        if link.get("created") is not True:
            log(f"{self.label} evidence link: not created: {link}")
            self.samples[-1].error = True
            self.ledger.audited[AUDIT_ACTION["evidence link"]] -= 1
            return
        self.ledger.links.append((verified["id"], link["lineage_id"]))

    def flow_policy(self) -> None:
        r = self.call("policy create", "POST", f"{self.org_url}/access-policies", 201,
                      json={"name": f"p-{uuid.uuid4()}", "policy": POLICY})
        if r is None:
            return
        policy_id = r.json()["id"]
        self.ledger.policies_live.add(policy_id)
        if self.call("policy delete", "DELETE", f"{self.org_url}/access-policies/{policy_id}",
                     204) is not None:
            self.ledger.policies_live.discard(policy_id)
            self.ledger.policies_deleted.add(policy_id)


# --- the lost-writes check ------------------------------------------------------------------------


def get_json(url: str, target: Target) -> dict:
    r = CONTROL.get(url, headers=target.headers, timeout=300)
    if r.status_code != 200:
        raise RuntimeError(f"GET {url}: HTTP {r.status_code} {r.text[:200]}")
    return r.json()


def paged(url: str, target: Target, key: str) -> list[dict]:
    """Every item of a `limit`/`offset` list."""
    items, offset = [], 0
    sep = "&" if "?" in url else "?"
    while True:
        page = get_json(f"{url}{sep}limit=500&offset={offset}", target)[key]
        items.extend(page)
        if len(page) < 500:
            return items
        offset += 500


def audit_count(base: str, target: Target, action: str) -> int:
    """Entries of one action in the org's audit log (paged by `before_seq`)."""
    url = f"{base}/api/v1/orgs/{target.org_id}/audit-log?action={action}&limit=500"
    count, before = 0, None
    while True:
        page = get_json(url + (f"&before_seq={before}" if before is not None else ""), target)
        count += len(page["entries"])
        before = page.get("next_before_seq")
        if before is None or not page["entries"]:
            return count


@dataclass
class OrgCheck:
    label: str
    lost: list[str] = field(default_factory=list)
    chain_valid: bool = False
    entries_checked: int = 0
    audited_writes: int = 0
    problems: list[str] = field(default_factory=list)


def check_org(base: str, label: str, target: Target, ledger: Ledger) -> OrgCheck:
    out = OrgCheck(label)
    org_url = f"{base}/api/v1/orgs/{target.org_id}"
    try:
        listed_repos = {r["id"] for r in paged(f"{org_url}/repos", target, "repositories")}
        out.lost += [f"repo {i}" for i in ledger.repos if i not in listed_repos]

        scans_by_repo: dict[int, set[str]] = {}
        for repo_id, scan_id in ledger.scans:
            if repo_id not in scans_by_repo:
                scans_by_repo[repo_id] = {
                    s["id"] for s in paged(f"{org_url}/repos/{repo_id}/scans", target, "scans")
                }
            if scan_id not in scans_by_repo[repo_id]:
                out.lost.append(f"scan {scan_id} of repo {repo_id}")

        listed_evidence = {e["id"] for e in paged(f"{org_url}/evidence", target, "evidence")}
        out.lost += [f"evidence {i}" for i in ledger.evidence if i not in listed_evidence]
        links_by_evidence: dict[str, set[str]] = {}
        for evidence_id, link_id in ledger.links:
            if evidence_id not in links_by_evidence:
                r = CONTROL.get(f"{org_url}/evidence/{evidence_id}", headers=target.headers,
                                timeout=60)
                links_by_evidence[evidence_id] = (
                    {link["lineage_id"] for link in r.json().get("lineage", [])}
                    if r.status_code == 200 else set()
                )
            if link_id not in links_by_evidence[evidence_id]:
                out.lost.append(f"link {link_id} of evidence {evidence_id}")

        listed_policies = {
            p["id"] for p in get_json(f"{org_url}/access-policies", target)["policies"]
        }
        out.lost += [f"policy {i} (created)" for i in ledger.policies_live
                     if i not in listed_policies]
        out.lost += [f"policy {i} (deleted, still listed)" for i in ledger.policies_deleted
                     if i in listed_policies]

        report, problem = verify_chain(base, target)
        if problem is not None:
            out.problems.append(problem)
        if report is not None:
            out.chain_valid = report.get("valid") is True
            out.entries_checked = int(report.get("entries_checked") or 0)
        out.audited_writes = sum(ledger.audited.values())
        if out.entries_checked < out.audited_writes:
            out.problems.append(f"entries_checked {out.entries_checked} < "
                                f"{out.audited_writes} audited writes")
        for action, expected in sorted(ledger.audited.items()):
            found = audit_count(base, target, action)
            if found < expected:
                out.lost.append(f"audit {action}: {found} entries < {expected} writes")
    except (RuntimeError, requests.RequestException, KeyError, ValueError) as e:
        out.problems.append(f"check failed: {type(e).__name__}: {e}")
    return out


# --- one backend ----------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    backend: str
    clients: int
    seconds: float
    wall: float
    samples: list[Sample]
    checks: list[OrgCheck]
    server_died: bool
    server_errors: list[str]


def create_repos(base: str, target: Target, label: str, n: int, ledger: Ledger) -> list[int]:
    ids = []
    for i in range(n):
        r = CONTROL.post(f"{base}/api/v1/orgs/{target.org_id}/repos",
                         json={"name": f"load-{label}-{i}", "languages": ["python"]},
                         headers=target.headers, timeout=60)
        if r.status_code != 201:
            raise SetupError(f"creating a repo in org {label} answered {r.status_code}: "
                             f"{r.text[:200]}")
        ids.append(r.json()["id"])
    ledger.repos.extend(ids)
    ledger.audited[AUDIT_ACTION["repo create"]] += n
    return ids


def run_scenario(backend: str, args: argparse.Namespace) -> ScenarioResult:
    with fresh_server(backend, args, prefix="grc-bench-load") as server:
        log(f"{backend}: starting server on {server.base} (work dir {server.workdir})")
        orgs = {"A": server.start(args.startup_timeout), "B": server.create_owner_org(1)}
        check_keys(server.base, list(orgs.values()))
        setup = {label: Ledger() for label in orgs}
        repos = {label: create_repos(server.base, t, label, args.repos, setup[label])
                 for label, t in orgs.items()}

        clients = []
        for i in range(args.clients):
            label = "B" if i % 4 == 3 else "A"
            clients.append(Client(server.base, orgs[label], label, repos[label], args.mix,
                                  random.Random(args.seed * 1000 + i)))
        log(f"{backend}: {args.clients} clients for {args.seconds:.0f}s "
            f"({sum(c.label == 'A' for c in clients)} in org A, "
            f"{sum(c.label == 'B' for c in clients)} in org B)")
        started = time.perf_counter()
        deadline = time.monotonic() + args.seconds
        threads = [threading.Thread(target=c.run, args=(deadline,), name=f"client-{i}")
                   for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        samples = [s for c in clients for s in c.samples]
        log(f"{backend}: {len(samples)} requests in {wall:.1f}s")

        died = not server.alive()
        checks = []
        if died:
            log(f"server died during the run (status {server.proc.returncode}); stderr tail:")
            print(tail(server.stderr_path), file=sys.stderr)
        else:
            for label, target in orgs.items():
                ledger = setup[label]
                for c in clients:
                    if c.label != label:
                        continue
                    ledger.scans += c.ledger.scans
                    ledger.evidence.update(c.ledger.evidence)
                    ledger.links += c.ledger.links
                    ledger.policies_live |= c.ledger.policies_live
                    ledger.policies_deleted |= c.ledger.policies_deleted
                    ledger.audited += c.ledger.audited
                log(f"{backend}: checking org {label} ({len(ledger.scans)} scans, "
                    f"{len(ledger.evidence)} evidence, {len(ledger.links)} links, "
                    f"{len(ledger.policies_deleted)} policies created and deleted)")
                check = check_org(server.base, label, target, ledger)
                for item in check.lost:
                    log(f"{backend} org {label}: LOST {item}")
                for problem in check.problems:
                    log(f"{backend} org {label}: {problem}")
                checks.append(check)
        server_errors = server.log_lines("error", "panic", "warn")
        for line in server_errors:
            log(f"server log: {line}")
        return ScenarioResult(backend, args.clients, args.seconds, wall, samples, checks, died,
                              server_errors)


# --- report ---------------------------------------------------------------------------------------


def error_cell(samples: list[Sample]) -> str:
    errors = Counter(s.status for s in samples if s.error)
    if not errors:
        return "0"
    total = sum(errors.values())
    return f"{total} (" + ", ".join(f"{s}×{n}" for s, n in sorted(errors.items(), key=str)) + ")"


def latency_cells(samples: list[Sample]) -> list[str]:
    lat = sorted(s.latency * 1000 for s in samples)
    return [fmt_ms(percentile(lat, 50), 1), fmt_ms(percentile(lat, 99), 1),
            fmt_ms(lat[-1] if lat else float("nan"), 1)]


def main_row(label: str, r: ScenarioResult) -> str:
    n = len(r.samples)
    lost = sum(len(c.lost) for c in r.checks)
    audit = "; ".join(
        f"{c.label}: {'valid' if c.chain_valid else 'INVALID'}, {c.entries_checked} ≥ "
        f"{c.audited_writes} {'✓' if c.entries_checked >= c.audited_writes else '✗'}"
        for c in r.checks
    ) or "not checked"
    if r.server_died:
        audit += " (server died)"
    cells = [
        label,
        r.backend,
        str(r.clients),
        f"{r.wall:.1f}",
        str(n),
        f"{n / r.wall:.1f}" if r.wall > 0 else "—",
        *latency_cells(r.samples),
        error_cell(r.samples),
        str(lost) if r.checks else "not checked",
        audit,
    ]
    return "| " + " | ".join(cells) + " |"


MAIN_HEADER = (
    "| label | backend | clients | wall s | requests | req/s | p50 ms | p99 ms | max ms "
    "| errors | lost writes | audit chain: valid, entries_checked ≥ audited writes |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"
)

KIND_HEADER = (
    "| label | backend | kind | requests | req/s | p50 ms | p99 ms | max ms | errors |\n"
    "|---|---|---|---:|---:|---:|---:|---:|---|"
)


def kind_rows(label: str, r: ScenarioResult) -> list[str]:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in r.samples:
        by_kind[s.kind].append(s)
    rows = []
    for kind in KINDS:
        samples = by_kind.get(kind, [])
        cells = [label, r.backend, kind, str(len(samples)),
                 f"{len(samples) / r.wall:.1f}" if r.wall > 0 else "—",
                 *latency_cells(samples), error_cell(samples)]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


# --- main -----------------------------------------------------------------------------------------


def parse_mix(text: str) -> list[tuple[str, int]]:
    mix = []
    for part in text.split(","):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in ("read", "scan", "evidence", "policy"):
            raise ValueError(f"unknown flow {name!r}")
        mix.append((name, int(weight)))
    if not mix or any(w < 0 for _, w in mix) or sum(w for _, w in mix) <= 0:
        raise ValueError("weights must be ≥ 0 with a positive sum")
    return mix


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Mixed read/write load in two orgs, then a lost-writes check.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_server_args(p)
    p.add_argument("--seconds", type=float, default=120.0, help="duration of the load")
    p.add_argument("--clients", type=int, default=32, help="concurrent client threads")
    p.add_argument("--repos", type=int, default=3, help="repositories per org for scans")
    p.add_argument("--mix", default="read=50,scan=20,evidence=15,policy=15",
                   help="flow weights")
    p.add_argument("--seed", type=int, default=1, help="seed of the clients' RNGs")
    p.add_argument("--label", default="", help="value of the tables' label column")
    args = p.parse_args(argv)

    check_server_args(p, args)
    try:
        args.mix = parse_mix(args.mix)
    except ValueError as e:
        p.error(f"--mix: {e}")
    if args.seconds <= 0 or args.clients < 1 or args.repos < 1:
        p.error("--seconds, --clients and --repos must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results, failed = [], False
    for backend in args.backends:
        try:
            results.append(run_scenario(backend, args))
        except SetupError as e:
            log(f"{backend}: setup failed: {e}")
            failed = True
    print(MAIN_HEADER)
    for r in results:
        print(main_row(args.label, r))
    print()
    print(KIND_HEADER)
    for r in results:
        for row in kind_rows(args.label, r):
            print(row)
    if failed:
        return 1
    bad = any(
        r.server_died
        or any(s.error for s in r.samples)
        or any(c.lost or c.problems or not c.chain_valid for c in r.checks)
        for r in results
    )
    return 3 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
