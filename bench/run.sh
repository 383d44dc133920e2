#!/usr/bin/env bash
# Benchmark loadplan against oha on the same loopback target, side by side.
#
# The target (the embedded demo API, `loadplan demo`) is pinned to one core, each load
# generator to the other, with the same concurrency (50). Prints each tool's CPU seconds per
# 1,000 requests, their ratio, and peak RSS. Usage: bench/run.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-200000}

command -v oha >/dev/null || cargo install oha --locked
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/loadplan

# The target, on core 1.
log=$(mktemp)
taskset -c 1 "$bin" demo --port 0 >"$log" 2>&1 &
target=$!
trap 'kill $target 2>/dev/null' EXIT
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
url=$(head -1 "$log" | awk '{print $3}')

# CPU seconds (user + system) and peak RSS (KiB) of a command on core 0.
measure() {
  local t
  t=$(mktemp)
  /usr/bin/time -o "$t" -f '%U %S %M' taskset -c 0 "$@" >/dev/null 2>&1
  tail -1 "$t"
}

per_k() { awk -v u="$1" -v s="$2" -v n="$3" 'BEGIN { printf "%.4f", (u + s) * 1000 / n }'; }

read -r ou os orss <<<"$(measure oha --no-tui -c 50 -n "$requests" "$url/api/v1/health/")"
oha_k=$(per_k "$ou" "$os" "$requests")

read -r lu ls lrss <<<"$(measure "$bin" run bench/single.yaml --base-url "$url" -q \
  --set load.iterations="$requests" --out "$(mktemp -d)")"
single_k=$(per_k "$lu" "$ls" "$requests")

# The reference plan (ten templated endpoints, Bearer auth, captures), no think time.
ref_out=$(mktemp -d)
read -r ru rs rrss <<<"$(measure "$bin" run plans/demo.yaml --base-url "$url" -q \
  --users 50 --duration 10m --set load.think_time=none --set load.iterations="$requests" \
  --set load.spawn_rate=1000/s --out "$ref_out")"
ref_n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total']['requests'])" "$ref_out/summary.json")
ref_k=$(per_k "$ru" "$rs" "$ref_n")

printf '%-34s %12s %10s %10s\n' "run (50 connections, $requests iterations)" "CPU s/1k req" "ratio" "peak RSS"
printf '%-34s %12s %10s %9sM\n' "oha, one URL" "$oha_k" "1.00" "$((orss / 1024))"
printf '%-34s %12s %10s %9sM\n' "loadplan, one endpoint" "$single_k" "$(awk -v a="$single_k" -v b="$oha_k" 'BEGIN{printf "%.2f", a/b}')" "$((lrss / 1024))"
printf '%-34s %12s %10s %9sM\n' "loadplan, reference plan" "$ref_k" "$(awk -v a="$ref_k" -v b="$oha_k" 'BEGIN{printf "%.2f", a/b}')" "$((rrss / 1024))"
