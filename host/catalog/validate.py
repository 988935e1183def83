#!/usr/bin/env python3
"""Validate the built-in compliance framework catalog (host/catalog/*.toml).

Usage: python3 host/catalog/validate.py [CATALOG_DIR]

Standard library only (Python >= 3.11 for tomllib). Exit status 0 when the catalog is
clean, 1 when any error was found. Warnings never fail the run.

Checks: top-level and per-control schema keys; string types; key matches the file name;
requires_plan only in hipaa; recommendation values; unique control ids; control ids are
the real ids of the standard (hard-coded below); allowed check_types; pass_condition
allowed for the check_type and its params (table mirrors plugins/builtin/README.md plus
the catalog-level `evidence` check_type); every maps_to target exists; mapping symmetry.

Also checks the baseline written policies in policies/ (index.toml plus one Markdown file per
entry): index schema, well-formed unique keys and files, review_interval_days in 30..=1095,
every mapped control exists and has check_type "evidence", each document starts with
"# " + title, has a Review section stating the interval, and holds no tabs, control
characters or HTML.
"""
from __future__ import annotations

import os
import re
import sys
import tomllib

FRAMEWORKS = ["soc2", "iso27001", "nist_csf", "pcidss", "hipaa", "owasp"]

# Framework-level contract (names and default badges are part of the API contract).
EXPECTED = {
    "soc2": {"name": "SOC 2 Type II", "recommendation": "required"},
    "iso27001": {"name": "ISO/IEC 27001:2022", "recommendation": "recommended"},
    "nist_csf": {"name": "NIST CSF 2.0", "recommendation": "recommended"},
    "pcidss": {"name": "PCI DSS v4.0", "recommendation": "optional"},
    "hipaa": {"name": "HIPAA Security Rule", "recommendation": "optional", "requires_plan": "enterprise"},
    "owasp": {"name": "OWASP Top 10 2021", "recommendation": "required"},
}

TOP_REQUIRED = {"key", "name", "description", "version", "recommendation", "controls"}
TOP_OPTIONAL = {"requires_plan"}
CONTROL_KEYS = {
    "id", "name", "category", "description", "check_type", "pass_condition", "params",
    "recommendation", "recommendation_reason", "maps_to",
}
RECOMMENDATIONS = {"required", "recommended", "optional"}
PLANS = {"enterprise"}
CATEGORIES = {
    "Access", "Credentials", "Change Management", "Monitoring", "Vulnerability Management",
    "Governance", "Risk", "Data Protection", "Secure Development", "Availability", "Privacy",
    "Physical", "HR", "Incident Response", "Supplier", "Cryptography", "Configuration",
    "Asset Management", "Processing Integrity",
}
MAX_NAME_LEN = 60
MAX_DESCRIPTION_LEN = 200
MAX_REASON_LEN = 160

# ---------------------------------------------------------------------------------------
# check_type -> pass_condition -> allowed params (from plugins/builtin/README.md).
# `evidence` is handled by the host, not the builtin plugin: evidence_linked(max_age_days).
SEVERITIES = {"critical", "high", "medium", "moderate", "low", "info", "informational"}
FINDING_TYPES = ["secrets", "sast_security", "sast_crypto", "sast_auth", "sca_vulns", "code_quality", "iac_issues"]
SAST_LIKE = ["sast_security", "sast_crypto", "sast_auth", "sca_vulns", "code_quality", "iac_issues"]

PASS_CONDITIONS: dict[str, dict[str, set[str]]] = {t: {} for t in FINDING_TYPES}
PASS_CONDITIONS["secrets"]["no_critical_secrets"] = set()
PASS_CONDITIONS["secrets"]["no_secrets"] = set()
for t in FINDING_TYPES:
    PASS_CONDITIONS[t]["max_severity"] = {"severity"}
    PASS_CONDITIONS[t]["max_high_findings"] = {"max"}
for t in SAST_LIKE:
    PASS_CONDITIONS[t]["no_findings"] = set()
PASS_CONDITIONS["sca_vulns"]["no_known_vulns_above"] = {"severity"}
PASS_CONDITIONS["iac_issues"]["no_iac_issues_above"] = {"severity"}
PASS_CONDITIONS["scan_recency"] = {}  # scanned_within_{days}_days, matched by regex below
PASS_CONDITIONS["quality_gates"] = {"quality_gate_passed": {"unknown"}}
PASS_CONDITIONS["pr_reviews"] = {"min_reviewed_pr_ratio": {"ratio"}}
PASS_CONDITIONS["evidence"] = {"evidence_linked": {"max_age_days"}}
SCAN_RECENCY_RE = re.compile(r"^scanned_within_([0-9]+)_days$")
SCAN_RECENCY_PARAMS = {"grace_days"}
REQUIRED_PARAMS = {("evidence", "evidence_linked"): {"max_age_days"}}
CHECK_TYPES = set(PASS_CONDITIONS)
AUTOMATED = CHECK_TYPES - {"evidence"}


def _u32(v: str) -> bool:
    return v.isdigit() and int(v) <= 0xFFFFFFFF


def _ratio(v: str) -> bool:
    try:
        x = float(v[:-1]) / 100 if v.endswith("%") else float(v)
    except ValueError:
        return False
    return 0.0 <= x <= 1.0


PARAM_VALUE_CHECKS = {
    "severity": (lambda v: v.lower() in SEVERITIES, "a severity (critical|high|medium|low|info)"),
    "max": (_u32, "a non-negative integer"),
    "grace_days": (_u32, "a non-negative integer"),
    "ratio": (_ratio, "a ratio 0..1 or a percentage like 80%"),
    "unknown": (lambda v: v in {"not_applicable", "fail"}, "not_applicable or fail"),
    "max_age_days": (lambda v: v.isdigit() and int(v) >= 1, "a positive integer number of days"),
}

# ---------------------------------------------------------------------------------------
# The real control ids of each built-in framework.
def _soc2_ids() -> list[str]:
    cc = {1: 5, 2: 3, 3: 4, 4: 2, 5: 3, 6: 8, 7: 5, 8: 1, 9: 2}
    ids = [f"CC{s}.{i}" for s, n in cc.items() for i in range(1, n + 1)]
    ids += [f"A1.{i}" for i in range(1, 4)] + ["C1.1", "C1.2"] + [f"PI1.{i}" for i in range(1, 6)]
    priv = {1: 1, 2: 1, 3: 2, 4: 3, 5: 2, 6: 7, 7: 1, 8: 1}
    ids += [f"P{s}.{i}" for s, n in priv.items() for i in range(1, n + 1)]
    return ids


def _iso_ids() -> list[str]:
    return ([f"A.5.{i}" for i in range(1, 38)] + [f"A.6.{i}" for i in range(1, 9)]
            + [f"A.7.{i}" for i in range(1, 15)] + [f"A.8.{i}" for i in range(1, 35)])


def _nist_ids() -> list[str]:
    cats = {
        "GV.OC": range(1, 6), "GV.RM": range(1, 8), "GV.RR": range(1, 5), "GV.PO": range(1, 3),
        "GV.OV": range(1, 4), "GV.SC": range(1, 11),
        "ID.AM": [1, 2, 3, 4, 5, 7, 8], "ID.RA": range(1, 11), "ID.IM": range(1, 5),
        "PR.AA": range(1, 7), "PR.AT": range(1, 3), "PR.DS": [1, 2, 10, 11], "PR.PS": range(1, 7),
        "PR.IR": range(1, 5),
        "DE.CM": [1, 2, 3, 6, 9], "DE.AE": [2, 3, 4, 6, 7, 8],
        "RS.MA": range(1, 6), "RS.AN": [3, 6, 7, 8], "RS.CO": [2, 3], "RS.MI": [1, 2],
        "RC.RP": range(1, 7), "RC.CO": [3, 4],
    }
    return [f"{c}-{i:02d}" for c, nums in cats.items() for i in nums]


def _pci_ids() -> list[str]:
    per_req = {1: 5, 2: 3, 3: 7, 4: 2, 5: 4, 6: 5, 7: 3, 8: 6, 9: 5, 10: 7, 11: 6, 12: 10}
    return [f"{r}.{i}" for r, n in per_req.items() for i in range(1, n + 1)]


HIPAA_IDS = [
    "164.308(a)(1)", "164.308(a)(2)", "164.308(a)(3)", "164.308(a)(4)", "164.308(a)(5)",
    "164.308(a)(6)", "164.308(a)(7)", "164.308(a)(8)", "164.308(b)(1)",
    "164.310(a)(1)", "164.310(b)", "164.310(c)", "164.310(d)(1)",
    "164.312(a)(1)", "164.312(b)", "164.312(c)(1)", "164.312(d)", "164.312(e)(1)",
]

KNOWN_IDS = {
    "soc2": _soc2_ids(),
    "iso27001": _iso_ids(),
    "nist_csf": _nist_ids(),
    "pcidss": _pci_ids(),
    "hipaa": HIPAA_IDS,
    "owasp": [f"A{i:02d}" for i in range(1, 11)],
}


# ---------------------------------------------------------------------------------------
class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, where: str, msg: str) -> None:
        self.errors.append(f"ERROR {where}: {msg}")

    def warn(self, where: str, msg: str) -> None:
        self.warnings.append(f"WARN  {where}: {msg}")


def _is_line(v: object) -> bool:
    return isinstance(v, str) and v.strip() != "" and "\n" not in v and v == v.strip()


def check_control(fw: str, c: dict, rep: Report) -> None:
    where = f"{fw}:{c.get('id', '?')}"
    keys = set(c)
    for k in sorted(CONTROL_KEYS - keys):
        rep.error(where, f"missing key `{k}`")
    for k in sorted(keys - CONTROL_KEYS):
        rep.error(where, f"unknown key `{k}`")
    for k in ("id", "name", "category", "description", "check_type", "pass_condition",
              "recommendation", "recommendation_reason"):
        if k in c and not _is_line(c[k]):
            rep.error(where, f"`{k}` must be a non-empty single-line string without surrounding spaces")
    if _is_line(c.get("name")) and len(c["name"]) > MAX_NAME_LEN:
        rep.error(where, f"name longer than {MAX_NAME_LEN} chars (keep titles short)")
    if _is_line(c.get("description")) and len(c["description"]) > MAX_DESCRIPTION_LEN:
        rep.error(where, f"description longer than {MAX_DESCRIPTION_LEN} chars (one sentence)")
    if _is_line(c.get("recommendation_reason")) and len(c["recommendation_reason"]) > MAX_REASON_LEN:
        rep.error(where, f"recommendation_reason longer than {MAX_REASON_LEN} chars (one line)")
    if _is_line(c.get("category")) and c["category"] not in CATEGORIES:
        rep.error(where, f"unknown category {c['category']!r} (add it to CATEGORIES and README if intended)")
    if "recommendation" in c and c["recommendation"] not in RECOMMENDATIONS:
        rep.error(where, f"recommendation {c['recommendation']!r} not in {sorted(RECOMMENDATIONS)}")

    params = c.get("params")
    if not isinstance(params, dict):
        rep.error(where, "`params` must be a table")
        params = {}
    for k, v in params.items():
        if not isinstance(v, str):
            rep.error(where, f"param `{k}` must be a string, got {type(v).__name__}")

    ct, pc = c.get("check_type"), c.get("pass_condition")
    if not isinstance(ct, str) or ct not in CHECK_TYPES:
        rep.error(where, f"check_type {ct!r} not in {sorted(CHECK_TYPES)}")
        return
    if not isinstance(pc, str):
        return
    if ct == "scan_recency":
        m = SCAN_RECENCY_RE.match(pc)
        if not m or int(m.group(1)) < 1:
            rep.error(where, f"pass_condition {pc!r} not valid for scan_recency (scanned_within_{{days}}_days, days >= 1)")
            return
        allowed = SCAN_RECENCY_PARAMS
        if "days" in params:
            rep.error(where, "scan_recency takes `days` from the pass_condition name, not from params")
    else:
        if pc not in PASS_CONDITIONS[ct]:
            rep.error(where, f"pass_condition {pc!r} not accepted by {ct} (allowed: {sorted(PASS_CONDITIONS[ct])})")
            return
        allowed = PASS_CONDITIONS[ct][pc]
    for k in sorted(set(params) - allowed):
        if not (ct == "scan_recency" and k == "days"):
            rep.error(where, f"param `{k}` not declared by {ct}/{pc} (allowed: {sorted(allowed)})")
    for k in sorted(REQUIRED_PARAMS.get((ct, pc), set()) - set(params)):
        rep.error(where, f"{ct}/{pc} requires param `{k}`")
    for k, v in params.items():
        if k in allowed and isinstance(v, str) and k in PARAM_VALUE_CHECKS:
            ok, what = PARAM_VALUE_CHECKS[k]
            if not ok(v):
                rep.error(where, f"param `{k}` = {v!r} is not {what}")

    maps = c.get("maps_to")
    if not isinstance(maps, list) or not all(isinstance(x, str) for x in maps):
        rep.error(where, "`maps_to` must be an array of strings")


def load(directory: str, rep: Report) -> dict[str, dict]:
    docs: dict[str, dict] = {}
    for fw in FRAMEWORKS:
        path = os.path.join(directory, f"{fw}.toml")
        try:
            with open(path, "rb") as f:
                docs[fw] = tomllib.load(f)
        except FileNotFoundError:
            rep.error(fw, f"missing file {path}")
        except tomllib.TOMLDecodeError as e:
            rep.error(fw, f"TOML parse error in {path}: {e}")
    extra = sorted(p for p in os.listdir(directory)
                   if p.endswith(".toml") and p[:-5] not in FRAMEWORKS)
    for p in extra:
        rep.warn(p, "TOML file is not one of the known built-in frameworks (add it to FRAMEWORKS)")
    return docs


# ---------------------------------------------------------------------------------------
# Baseline written policies: policies/index.toml + one Markdown document per entry.
POLICY_KEYS = {"key", "title", "file", "review_interval_days", "summary", "controls"}
POLICY_KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
POLICY_FILE_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.md$")
POLICY_REVIEW_DAYS = (30, 1095)
POLICY_LINES = (60, 150)  # outside this range: warning only
PLACEHOLDER_RE = re.compile(r"\{\{([^{}]*)\}\}")
PLACEHOLDER_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
HTML_RE = re.compile(r"<(?:[A-Za-z][A-Za-z0-9-]*|/[A-Za-z]|!--)")
CONTROL_CHAR_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check_policy_doc(where: str, path: str, title: str, review_days: object, rep: Report) -> None:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        rep.error(where, f"policy file {path} does not exist")
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        rep.error(where, f"{path} is not valid UTF-8: {e}")
        return
    if "\t" in text:
        rep.error(where, f"{path} contains tab characters")
    if "\r" in text:
        rep.error(where, f"{path} contains carriage returns (use LF line endings)")
    m = CONTROL_CHAR_RE.search(text.replace("\t", "").replace("\r", ""))
    if m:
        rep.error(where, f"{path} contains control character {m.group()!r}")
    if text.startswith("\ufeff"):
        rep.error(where, f"{path} starts with a byte order mark")
    lines = text.split("\n")
    if lines[0] != f"# {title}":
        rep.error(where, f"{path} must start with '# {title}', found {lines[0]!r}")
    if not text.endswith("\n"):
        rep.error(where, f"{path} must end with a newline")
    for n, line in enumerate(lines, 1):
        if HTML_RE.search(line):
            rep.error(where, f"{path}:{n} contains HTML")
        if line != line.rstrip():
            rep.warn(where, f"{path}:{n} has trailing whitespace")
        if not line.isascii():
            rep.warn(where, f"{path}:{n} has non-ASCII characters (ASCII punctuation preferred)")
    placeholders = PLACEHOLDER_RE.findall(text)
    for name in placeholders:
        if not PLACEHOLDER_NAME_RE.match(name):
            rep.error(where, f"{path}: malformed placeholder {{{{{name}}}}} (use {{{{UPPER_CASE}}}})")
    if len(placeholders) > 1:
        rep.warn(where, f"{path}: {len(placeholders)} placeholders (use them sparingly, at most one)")
    n_lines = len(lines) - 1 if text.endswith("\n") else len(lines)
    if not POLICY_LINES[0] <= n_lines <= POLICY_LINES[1]:
        rep.warn(where, f"{path} has {n_lines} lines (expected {POLICY_LINES[0]}..{POLICY_LINES[1]})")
    headings = [l[3:].strip() for l in lines if l.startswith("## ")]
    for h in ("Purpose", "Scope", "Roles and responsibilities", "Policy statements",
              "Exceptions", "Enforcement", "Review"):
        if h not in headings:
            rep.error(where, f"{path} has no '## {h}' section")
    if "Review" in headings and isinstance(review_days, int):
        start = lines.index("## Review")
        section = []
        for l in lines[start + 1:]:
            if l.startswith("## "):
                break
            section.append(l)
        if not re.search(rf"\b{review_days}\b", "\n".join(section)):
            rep.error(where, f"{path}: Review section does not state the {review_days}-day review interval")


def check_policies(directory: str, ids: dict[str, dict[str, dict]], rep: Report) -> tuple[int, int] | None:
    """Checks policies/index.toml and its documents. Returns (documents, control mappings)."""
    pdir = os.path.join(directory, "policies")
    index = os.path.join(pdir, "index.toml")
    if not os.path.isdir(pdir):
        rep.warn("policies", f"no policies directory at {pdir}")
        return None
    try:
        with open(index, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        rep.error("policies", f"missing {index}")
        return None
    except tomllib.TOMLDecodeError as e:
        rep.error("policies", f"TOML parse error in {index}: {e}")
        return None
    for k in sorted(set(doc) - {"policies"}):
        rep.error("policies", f"unknown top-level key `{k}` in index.toml")
    entries = doc.get("policies")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        rep.error("policies", "index.toml needs a non-empty array of tables ([[policies]])")
        return None
    keys: set[str] = set()
    files: set[str] = set()
    titles: set[str] = set()
    n_maps = 0
    for i, e in enumerate(entries):
        where = f"policies:{e.get('key', f'#{i + 1}')}"
        for k in sorted(POLICY_KEYS - set(e)):
            rep.error(where, f"missing key `{k}`")
        for k in sorted(set(e) - POLICY_KEYS):
            rep.error(where, f"unknown key `{k}`")
        for k in ("key", "title", "file", "summary"):
            if k in e and not _is_line(e[k]):
                rep.error(where, f"`{k}` must be a non-empty single-line string without surrounding spaces")
        key = e.get("key")
        if isinstance(key, str):
            if not POLICY_KEY_RE.match(key) or len(key) > 64:
                rep.error(where, f"key {key!r} must be 1-64 chars of lowercase a-z0-9 words joined by '-'")
            if key in keys:
                rep.error(where, f"duplicate policy key {key!r}")
            keys.add(key)
        title = e.get("title")
        if _is_line(title):
            if title in titles:
                rep.error(where, f"duplicate policy title {title!r}")
            titles.add(title)
        days = e.get("review_interval_days")
        if "review_interval_days" in e and (
                not isinstance(days, int) or isinstance(days, bool)
                or not POLICY_REVIEW_DAYS[0] <= days <= POLICY_REVIEW_DAYS[1]):
            rep.error(where, f"review_interval_days {days!r} must be an integer in "
                             f"{POLICY_REVIEW_DAYS[0]}..={POLICY_REVIEW_DAYS[1]}")
        controls = e.get("controls")
        if "controls" in e:
            if not isinstance(controls, list) or not controls or not all(isinstance(c, str) for c in controls):
                rep.error(where, "`controls` must be a non-empty array of strings")
            else:
                seen: set[str] = set()
                for t in controls:
                    n_maps += 1
                    if t in seen:
                        rep.error(where, f"duplicate control {t!r}")
                    seen.add(t)
                    fw, sep, cid = t.partition(":")
                    if not sep or not fw or not cid:
                        rep.error(where, f"control {t!r} is not framework_key:control_id")
                    elif fw not in FRAMEWORKS:
                        rep.error(where, f"control {t!r}: unknown framework {fw!r}")
                    elif fw not in ids:
                        pass  # framework file failed to load; already reported
                    elif cid not in ids[fw]:
                        rep.error(where, f"control {t!r} does not exist")
                    elif ids[fw][cid].get("check_type") != "evidence":
                        rep.error(where, f"control {t!r} has check_type "
                                         f"{ids[fw][cid].get('check_type')!r}; policies map only to evidence controls")
        fname = e.get("file")
        if isinstance(fname, str):
            if not POLICY_FILE_RE.match(fname):
                rep.error(where, f"file {fname!r} must be a plain lowercase .md file name in policies/")
                continue
            if fname in files:
                rep.error(where, f"file {fname!r} is used by more than one policy")
            files.add(fname)
            if isinstance(key, str) and fname != f"{key}.md":
                rep.warn(where, f"file {fname!r} does not match the key (expected {key}.md)")
            if _is_line(title):
                check_policy_doc(where, os.path.join(pdir, fname), title, days, rep)
    for p in sorted(os.listdir(pdir)):
        if p.endswith(".md") and p not in files:
            rep.warn("policies", f"{p} is not listed in index.toml")
    return len(entries), n_maps


def main(argv: list[str]) -> int:
    directory = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    rep = Report()
    docs = load(directory, rep)

    ids: dict[str, dict[str, dict]] = {}
    for fw, doc in docs.items():
        keys = set(doc)
        for k in sorted(TOP_REQUIRED - keys):
            rep.error(fw, f"missing top-level key `{k}`")
        for k in sorted(keys - TOP_REQUIRED - TOP_OPTIONAL):
            rep.error(fw, f"unknown top-level key `{k}`")
        for k in ("key", "name", "description", "version", "recommendation"):
            if k in doc and not _is_line(doc[k]):
                rep.error(fw, f"`{k}` must be a non-empty single-line string")
        if doc.get("key") != fw:
            rep.error(fw, f"key {doc.get('key')!r} does not match file name {fw}.toml")
        exp = EXPECTED[fw]
        if doc.get("name") != exp["name"]:
            rep.error(fw, f"name {doc.get('name')!r}, expected {exp['name']!r}")
        if doc.get("recommendation") not in RECOMMENDATIONS:
            rep.error(fw, f"recommendation {doc.get('recommendation')!r} not in {sorted(RECOMMENDATIONS)}")
        elif doc.get("recommendation") != exp["recommendation"]:
            rep.error(fw, f"recommendation {doc.get('recommendation')!r}, expected {exp['recommendation']!r}")
        if "requires_plan" in doc:
            if "requires_plan" not in exp:
                rep.error(fw, "requires_plan is only allowed in hipaa.toml")
            elif doc["requires_plan"] not in PLANS or doc["requires_plan"] != exp["requires_plan"]:
                rep.error(fw, f"requires_plan {doc['requires_plan']!r}, expected {exp['requires_plan']!r}")
        elif "requires_plan" in exp:
            rep.error(fw, f"requires_plan = {exp['requires_plan']!r} is required")

        controls = doc.get("controls")
        if not isinstance(controls, list) or not controls or not all(isinstance(c, dict) for c in controls):
            rep.error(fw, "`controls` must be a non-empty array of tables ([[controls]])")
            continue
        ids[fw] = {}
        for c in controls:
            cid = c.get("id")
            if isinstance(cid, str):
                if cid in ids[fw]:
                    rep.error(fw, f"duplicate control id {cid!r}")
                ids[fw][cid] = c
            check_control(fw, c, rep)
        known = set(KNOWN_IDS[fw])
        for cid in sorted(set(ids[fw]) - known):
            rep.error(fw, f"control id {cid!r} is not a known {fw} id")
        missing = [i for i in KNOWN_IDS[fw] if i not in ids[fw]]
        if missing:
            rep.error(fw, f"{len(missing)} known control ids missing: {', '.join(missing)}")
        order = [c.get("id") for c in controls if c.get("id") in known]
        if order != [i for i in KNOWN_IDS[fw] if i in ids[fw]]:
            rep.warn(fw, "controls are not in the standard's order")

    # cross-framework mappings
    edges: set[tuple[str, str, str, str]] = set()
    for fw, table in ids.items():
        for cid, c in table.items():
            maps = c.get("maps_to")
            if not isinstance(maps, list):
                continue
            seen = set()
            for t in maps:
                where = f"{fw}:{cid}"
                if not isinstance(t, str):
                    continue
                if t in seen:
                    rep.error(where, f"duplicate maps_to target {t!r}")
                seen.add(t)
                tfw, sep, tid = t.partition(":")
                if not sep or not tid:
                    rep.error(where, f"maps_to target {t!r} is not framework_key:control_id")
                elif tfw == fw:
                    rep.error(where, f"maps_to target {t!r} is in the same framework")
                elif tfw not in FRAMEWORKS:
                    rep.error(where, f"maps_to target {t!r}: unknown framework {tfw!r}")
                elif tfw not in ids:
                    pass  # target file failed to load; already reported
                elif tid not in ids[tfw]:
                    rep.error(where, f"maps_to target {t!r} does not exist")
                else:
                    edges.add((fw, cid, tfw, tid))
            if c.get("check_type") in AUTOMATED and not maps:
                rep.error(f"{fw}:{cid}", "automated control has no maps_to")
    asym = sorted(e for e in edges if (e[2], e[3], e[0], e[1]) not in edges)
    for a, b, c2, d in asym:
        rep.error(f"{a}:{b}", f"asymmetric mapping: maps to {c2}:{d} but {c2}:{d} does not map back")

    # baseline written policies
    policy_stats = check_policies(directory, ids, rep)

    # summary
    print(f"catalog: {directory}")
    print(f"{'framework':<10} {'controls':>8} {'automated':>9} {'ratio':>6} {'evidence':>8} {'mapped':>6} {'maps':>5}")
    total = total_auto = 0
    for fw in FRAMEWORKS:
        if fw not in ids:
            continue
        cs = list(ids[fw].values())
        auto = sum(1 for c in cs if c.get("check_type") in AUTOMATED)
        mapped = sum(1 for c in cs if c.get("maps_to"))
        nmaps = sum(len(c.get("maps_to") or []) for c in cs)
        total += len(cs)
        total_auto += auto
        print(f"{fw:<10} {len(cs):>8} {auto:>9} {100 * auto / len(cs):>5.1f}% {len(cs) - auto:>8} {mapped:>6} {nmaps:>5}")
    if total:
        print(f"{'total':<10} {total:>8} {total_auto:>9} {100 * total_auto / total:>5.1f}%")
    print(f"mapping edges: {len(edges)} directed, {len(asym)} asymmetric")
    if policy_stats is not None:
        print(f"policies: {policy_stats[0]} documents, {policy_stats[1]} control mappings")
    for w in rep.warnings:
        print(w)
    for e in rep.errors:
        print(e)
    if rep.errors:
        print(f"FAILED: {len(rep.errors)} error(s), {len(rep.warnings)} warning(s)")
        return 1
    print(f"OK: catalog is valid ({len(rep.warnings)} warning(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
