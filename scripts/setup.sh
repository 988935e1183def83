#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine. Idempotent; safe to run repeatedly.
set -euo pipefail

# Toolchain components for the lint steps and the WebAssembly target for plugins.
rustup component add rustfmt clippy >/dev/null 2>&1 || rustup component add rustfmt clippy
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown

# PostgreSQL must be reachable for the Postgres half of the test suite.
if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi

# The seed-sample tests run curl + jq and python3 + requests (and Node when present).
if ! command -v jq >/dev/null; then
  (apt-get update -q && apt-get install -y -q jq) >/dev/null
fi
# The auditor-export tests read the PDFs back with poppler's pdftotext.
if ! command -v pdftotext >/dev/null; then
  (apt-get update -q && apt-get install -y -q poppler-utils) >/dev/null
fi
if ! python3 -c 'import requests' 2>/dev/null; then
  python3 -m pip install --quiet requests
fi
# An independent S3 implementation (moto's server) for the evidence tests' external-S3 run.
if ! python3 -c 'import moto.server' 2>/dev/null; then
  python3 -m pip install --quiet 'moto[server]'
fi
# The contract checks: an independent OpenAPI validator and schemathesis (property-based API
# tests against a spawned server, run by tests/tests/contract.rs).
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
  python3 -m pip install --quiet openapi-spec-validator
fi
if [ "$(python3 -c 'import schemathesis; print(schemathesis.__version__)' 2>/dev/null)" != 4.32.5 ]; then
  python3 -m pip install --quiet 'schemathesis==4.32.5'
fi
# Browser tests (tests/src/browser.rs): Debian's headless Chromium and its WebDriver, and axe-core
# (pinned in tests/browser/package-lock.json) for the accessibility checks.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  (apt-get update -q && apt-get install -y -q chromium chromium-driver) >/dev/null
fi
browser_assets="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
if [ ! -f "$browser_assets/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null; then
    (apt-get update -q && apt-get install -y -q npm) >/dev/null
  fi
  npm ci --prefix "$browser_assets" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
fi
