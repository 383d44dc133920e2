#!/usr/bin/env bash
# Benchmark loadplan against oha on the same loopback target, side by side.
#
# The target (the embedded demo API, `loadplan demo`) is pinned to one core, each load
# generator to the other, with the same concurrency (50). Each tool runs RUNS times,
# interleaved (single runs here vary by ±15 %); the script prints the median CPU seconds
# (user + system) per 1,000 requests, the ratio to oha's median, and peak RSS.
# Usage: bench/run.sh [REQUESTS] (RUNS=3 by default; LOADPLAN_BIN=path measures another
# build of loadplan, e.g. an older commit's, against the same oha runs)
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-200000}
runs=${RUNS:-3}

command -v oha >/dev/null || cargo install oha --locked
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
if [ -z "${LOADPLAN_BIN:-}" ]; then cargo build --release --quiet; fi
bin=${LOADPLAN_BIN:-target/release/loadplan}

# The target, on core 1.
log=$(mktemp)
taskset -c 1 "$bin" demo --port 0 >"$log" 2>&1 &
target=$!
trap 'kill $target 2>/dev/null' EXIT
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
url=$(head -1 "$log" | awk '{print $3}')

# Prints "CPU-seconds-per-1k-requests peak-RSS-KiB" for a command run on core 0 that
# sends N requests (N read from a results folder when the command writes one).
measure() {
  local n=$1 out=$2; shift 2
  local t
  t=$(mktemp)
  /usr/bin/time -o "$t" -f '%U %S %M' taskset -c 0 "$@" >/dev/null 2>&1
  if [ -n "$out" ]; then
    n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total']['requests'])" "$out/summary.json")
  fi
  awk -v n="$n" '{ printf "%.5f %d\n", ($1 + $2) * 1000 / n, $3 }' "$t"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >/tmp/bench-oha; : >/tmp/bench-single; : >/tmp/bench-ref
for _ in $(seq "$runs"); do
  measure "$requests" "" oha --no-tui -c 50 -n "$requests" "$url/api/v1/health/" >>/tmp/bench-oha
  out=$(mktemp -d)
  measure 0 "$out" "$bin" run bench/single.yaml --base-url "$url" -q \
    --set load.iterations="$requests" --out "$out" >>/tmp/bench-single
  # The reference plan: ten templated endpoints, Bearer auth, captures; no think time.
  out=$(mktemp -d)
  measure 0 "$out" "$bin" run plans/demo.yaml --base-url "$url" -q --users 50 --duration 10m \
    --set load.think_time=none --set load.iterations="$requests" --set load.spawn_rate=1000/s \
    --out "$out" >>/tmp/bench-ref
done

oha_k=$(cut -d' ' -f1 /tmp/bench-oha | median)
row() {
  local name=$1 file=$2 k rss
  k=$(cut -d' ' -f1 "$file" | median)
  rss=$(cut -d' ' -f2 "$file" | sort -n | tail -1)
  printf '%-30s %14s %8s %9sM   (runs: %s)\n' "$name" "$k" \
    "$(awk -v a="$k" -v b="$oha_k" 'BEGIN { printf "%.2f", a / b }')" "$((rss / 1024))" \
    "$(cut -d' ' -f1 "$file" | tr '\n' ' ')"
}
printf '%-30s %14s %8s %10s\n' "$requests requests, 50 conns" "CPU s/1k (med)" "ratio" "peak RSS"
row "oha, one URL" /tmp/bench-oha
row "loadplan, one endpoint" /tmp/bench-single
row "loadplan, reference plan" /tmp/bench-ref
