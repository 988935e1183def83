#!/usr/bin/env python3
"""Console: server time per web-console page, against the API reads that carry the same data.

For each backend (SQLite, PostgreSQL) it starts a fresh `grc serve` (helpers in
scripts/benchlib.py) and fills the bootstrap org to the size issue 17 names: `--repos` (50)
repositories, each with one JSON scan (3 findings), and at least `--audit-entries` (10,000)
audit entries (access policies created and deleted from 8 threads, two entries each, on top of
the repositories' and scans' own). Then it signs in to the console with the owner key and, for
each page, times `--rounds` sequential GETs (after 3 warm-ups) of:

  page                      peer: the API reads that return the same data
  /console/                 GET …/repos?limit=50 + GET …/compliance/score/{id} for each repo
  /console/repos/{id}       GET …/compliance/score/{id} + GET …/compliance/trend/{id}
  /console/audit            GET …/audit-log?limit=50
  /console/policies         GET …/access-policies
  /console/frameworks       GET …/compliance/frameworks

Times are wall-clock round trips on loopback from one client (the server's time plus a
loopback hop, which both sides pay alike). It prints one Markdown row per (backend, page):
p50 and p95 of the page, p50 of its peer and the ratio page / peer, then the bytes of HTML,
CSS and JavaScript the overview page loads (every `<link rel=stylesheet>` and `<script src>`).

Usage:
    scripts/bench_console.py --grc ~/.cache/grc/target/release/grc \\
        [--backend sqlite|postgres|both] [--repos 50] [--audit-entries 10000] [--rounds 50]

Exit status: 0 on success, 1 when a server could not be set up or a request failed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import benchlib
from benchlib import SetupError, log

POLICY = (
    'forbid (principal, action == Action::"member.list", resource) '
    'when { principal.role == "auditor" };'
)


class Failed(Exception):
    """A request during setup or measurement did not answer as expected."""


def call(session, method: str, url: str, expected: int, **kw):
    r = session.request(method, url, timeout=120, **kw)
    if r.status_code != expected:
        raise Failed(f"{method} {url}: {r.status_code} {r.text[:300]}")
    return r


def fill(base: str, target: benchlib.Target, repos: int, audit_entries: int) -> list[int]:
    """Registers the repositories with one scan each and grows the audit log."""
    api = benchlib.direct_session()
    api.headers.update(target.headers)
    org_url = f"{base}/api/v1/orgs/{target.org_id}"
    ids = []
    for i in range(repos):
        r = call(api, "POST", f"{org_url}/repos", 201,
                 json={"name": f"service-{i:03}", "languages": ["python"]})
        repo_id = r.json()["id"]
        ids.append(repo_id)
        call(api, "POST", f"{org_url}/repos/{repo_id}/scans", 201, json={
            "commit": uuid.uuid4().hex[:12], "branch": "main",
            "findings": [
                {"tool": "semgrep", "rule_id": f"r{k}", "category": "sast",
                 "severity": "medium", "message": f"m {k}", "file": f"src/f{k}.py", "line": k}
                for k in range(1, 4)
            ]})

    def entries() -> int:
        r = call(api, "GET", f"{org_url}/audit-log/verify", 200)
        return r.json()["entries_checked"]

    def churn(n: int) -> None:
        s = benchlib.direct_session()
        s.headers.update(target.headers)
        for _ in range(n):
            r = call(s, "POST", f"{org_url}/access-policies", 201,
                     json={"name": f"p-{uuid.uuid4()}", "policy": POLICY})
            call(s, "DELETE", f"{org_url}/access-policies/{r.json()['id']}", 204)

    missing = audit_entries - entries()
    if missing > 0:
        pairs = (missing + 1) // 2
        threads = 8
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(churn, [pairs // threads + (1 if t < pairs % threads else 0)
                                  for t in range(threads)]))
    log(f"audit log: {entries()} entries")
    return ids


def sign_in(base: str, api_key: str):
    s = benchlib.direct_session()
    r = s.post(f"{base}/console/sign-in", data={"api_key": api_key},
               headers={"Origin": base}, allow_redirects=False, timeout=60)
    if r.status_code != 303:
        raise Failed(f"sign-in: {r.status_code} {r.text[:300]}")
    return s


def timed(fn, rounds: int) -> list[float]:
    for _ in range(3):
        fn()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return sorted(out)


def asset_bytes(console, base: str) -> tuple[int, int, int]:
    html = call(console, "GET", f"{base}/console/", 200).text
    css = sum(len(call(console, "GET", base + href, 200).content)
              for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html))
    js = sum(len(call(console, "GET", base + src, 200).content)
             for src in re.findall(r'<script src="([^"]+)"', html))
    return len(html.encode()), css, js


def run(backend: str, args) -> list[str]:
    rows = []
    with benchlib.fresh_server(backend, args, prefix="grc-bench-console") as server:
        target = server.start(args.startup_timeout)
        base = server.base
        repos = fill(base, target, args.repos, args.audit_entries)
        console = sign_in(base, target.api_key)
        api = benchlib.direct_session()
        api.headers.update(target.headers)
        org = f"{base}/api/v1/orgs/{target.org_id}"
        first = repos[0]

        def overview_peer():
            listed = call(api, "GET", f"{org}/repos?limit=50", 200).json()
            for r in listed.get("repositories", listed.get("repos", [])):
                call(api, "GET", f"{org}/compliance/score/{r['id']}", 200)

        pages = [
            ("/console/", overview_peer),
            (f"/console/repos/{first}", lambda: (
                call(api, "GET", f"{org}/compliance/score/{first}", 200),
                call(api, "GET", f"{org}/compliance/trend/{first}", 200))),
            ("/console/audit", lambda: call(api, "GET", f"{org}/audit-log?limit=50", 200)),
            ("/console/policies", lambda: call(api, "GET", f"{org}/access-policies", 200)),
            ("/console/frameworks",
             lambda: call(api, "GET", f"{org}/compliance/frameworks", 200)),
        ]
        for path, peer in pages:
            page = timed(lambda: call(console, "GET", base + path, 200), args.rounds)
            api_times = timed(peer, args.rounds)
            p50 = benchlib.percentile(page, 50)
            peer50 = benchlib.percentile(api_times, 50)
            rows.append(f"| {backend} | `{path.replace(str(first), '{id}')}` | "
                        f"{p50:.1f} | {benchlib.percentile(page, 95):.1f} | {peer50:.1f} | "
                        f"{p50 / peer50:.2f} |")
        html, css, js = asset_bytes(console, base)
        rows.append(f"| {backend} | assets of `/console/` | HTML {html:,} B | CSS {css:,} B | "
                    f"JS {js:,} B | |")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    benchlib.add_server_args(p)
    p.add_argument("--repos", type=int, default=50)
    p.add_argument("--audit-entries", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=50)
    args = p.parse_args(argv)
    benchlib.check_server_args(p, args)
    rows = []
    for backend in args.backends:
        try:
            rows += run(backend, args)
        except (SetupError, Failed) as e:
            log(f"{backend}: {e}")
            return 1
    print("| backend | page | p50 ms | p95 ms | API peer p50 ms | page / peer |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
