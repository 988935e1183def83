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
