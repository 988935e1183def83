#!/usr/bin/env bash
# Evidence benchmark (issue 5), 1 GiB by default: a presigned PUT into the embedded store vs
# `dd` to the same disk, verify (streamed SHA-256 through aws-sdk-s3) vs `sha256sum` on the same
# file, and the server's peak RSS growth. Prints the ratios; docs/benchmarks.md records them.
#
#   scripts/bench-evidence.sh [SIZE_MIB]
set -euo pipefail
SIZE_MIB=${1:-1024}
cd "$(dirname "$0")/.."
cargo build --release -q -p grc-host
BIN="${CARGO_TARGET_DIR:-target}/release/grc"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/grc-bench.XXXXXX")
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); S3PORT=$(free_port)
GRC_DATA_DIR="$WORK/data" GRC_LISTEN="127.0.0.1:$PORT" GRC_S3_EMBEDDED_LISTEN="127.0.0.1:$S3PORT" \
  GRC_EVIDENCE_UPLOAD_TTL_SECS=3600 GRC_LOG=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
KEY=$(jq -r .api_key "$WORK/data/bootstrap.json"); ORG=$(jq -r .org_id "$WORK/data/bootstrap.json")
BASE="http://127.0.0.1:$PORT/api/v1/orgs/$ORG/evidence"

head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$WORK/big.bin"
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
rss_kib() { awk "/^$1:/ {print \$2}" "/proc/$PID/status"; }

# Baseline writes: dd of the same bytes to the same disk (page cache, like the store).
t0=$(now); dd if="$WORK/big.bin" of="$WORK/dd.out" bs=1M status=none; t1=$(now)
DD=$(secs "$t0" "$t1"); rm -f "$WORK/dd.out"

RSS_BEFORE=$(rss_kib VmRSS)
RESP=$(curl -sf -X POST "$BASE/upload-url" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"filename":"big.bin","content_type":"application/octet-stream"}')
URL=$(echo "$RESP" | jq -r .upload_url); OBJECT_KEY=$(echo "$RESP" | jq -r .object_key)
t0=$(now); CODE=$(curl -s -o /dev/null -w '%{http_code}' -T "$WORK/big.bin" "$URL"); t1=$(now)
[ "$CODE" = 200 ] || { echo "PUT answered $CODE"; exit 1; }
PUT=$(secs "$t0" "$t1")

t0=$(now); HASH=$(sha256sum "$WORK/big.bin" | cut -d' ' -f1); t1=$(now)
SHA=$(secs "$t0" "$t1")
t0=$(now)
VERIFIED=$(curl -sf -X POST "$BASE/verify?object_key=$OBJECT_KEY&expected_hash=$HASH" -H "Authorization: Bearer $KEY")
t1=$(now)
VERIFY=$(secs "$t0" "$t1")
[ "$(echo "$VERIFIED" | jq -r .sha256)" = "$HASH" ] || { echo "verify failed: $VERIFIED"; exit 1; }
RSS_PEAK=$(rss_kib VmHWM)
ID=$(echo "$VERIFIED" | jq -r .id)
DL=$(curl -sf -X POST "$BASE/$ID/download-url" -H "Authorization: Bearer $KEY" | jq -r .download_url)
t0=$(now); curl -sf -o /dev/null "$DL"; t1=$(now)
echo "presigned GET (curl, for reference) $(secs "$t0" "$t1") s"

python3 - "$SIZE_MIB" "$DD" "$PUT" "$SHA" "$VERIFY" "$RSS_BEFORE" "$RSS_PEAK" <<'PY'
import sys
size, dd, put, sha, verify, before, peak = sys.argv[1:]
size, dd, put, sha, verify = int(size), float(dd), float(put), float(sha), float(verify)
growth = (int(peak) - int(before)) / 1024
print(f"size {size} MiB")
print(f"dd write        {dd:7.3f} s  {size/dd:8.1f} MiB/s")
print(f"presigned PUT   {put:7.3f} s  {size/put:8.1f} MiB/s   ratio {dd/put:.2f}x of dd (goal >= 0.5)")
print(f"sha256sum       {sha:7.3f} s  {size/sha:8.1f} MiB/s")
print(f"verify          {verify:7.3f} s  {size/verify:8.1f} MiB/s   ratio {sha/verify:.2f}x of sha256sum (goal >= 0.8)")
print(f"peak RSS growth {growth:7.1f} MiB (goal < 64)")
PY
