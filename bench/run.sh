#!/usr/bin/env bash
# Benchmark loadplan against its peers on the same loopback target, side by side.
#
# The target is pinned to one core and each load generator to the other. Each tool runs RUNS
# times (3 by default), interleaved, since single runs here vary by ±15 %; the script prints
# medians and the ratio to oha's.
#
#   bench/run.sh [closed [REQUESTS]]  closed model, 50 connections, against the demo API:
#                                     oha, wrk, loadplan with one endpoint and with the
#                                     reference plan; CPU seconds per 1,000 requests, RSS
#   bench/run.sh open [RATE...]       open model against nginx (one worker), 10 s at each
#                                     rate (20000 40000): oha -q RATE --latency-correction
#                                     and loadplan --rate RATE; sent, dropped, CPU per
#                                     request, p50/p99, RSS
#   bench/run.sh max                  the highest rate each holds within ±1 % on one core
#   bench/run.sh check                CI: 2 s at 10,000/s against the demo API must start
#                                     every iteration (no drop, within ±2 %); a check of
#                                     correctness, not of timing
#   bench/run.sh                      closed, then open
#
# LOADPLAN_BIN=path measures another build of loadplan (an older commit's, say) against the
# same peers; DURATION sets the open model's run length (10s).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
[ $# -gt 0 ] && shift
runs=${RUNS:-3}
duration=${DURATION:-10s}
seconds=${duration%s}

command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
if [ -z "${LOADPLAN_BIN:-}" ]; then cargo build --release --quiet; fi
bin=$(realpath "${LOADPLAN_BIN:-target/release/loadplan}")
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

need() { # need COMMAND HOW-TO-INSTALL...
  local c=$1; shift
  command -v "$c" >/dev/null && return
  echo "installing $c" >&2
  "$@" >"$work/install-$c.log" 2>&1 || { echo "cannot install $c: see $work/install-$c.log" >&2; cat "$work/install-$c.log" >&2; exit 1; }
}
apt() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; }; }

# The embedded demo API on core 1; sets $url.
start_demo() {
  taskset -c 1 "$bin" demo --port 0 >"$work/demo.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "$work/demo.log" && break; sleep 0.1; done
  url=$(head -1 "$work/demo.log" | awk '{print $3}')
}

# nginx with one worker on core 1, answering `ok` from memory, keep-alive without a limit;
# sets $url.
start_nginx() {
  need nginx apt nginx-light
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:$port; location / { return 200 "ok\n"; } }
}
EOF
  taskset -c 1 "$(command -v nginx)" -c "$work/nginx/nginx.conf" -p "$work/nginx" </dev/null >"$work/nginx/out.log" 2>&1 &
  pids+=($!)
  url="http://127.0.0.1:$port"
  for _ in $(seq 100); do python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" "$url/" 2>/dev/null && return; sleep 0.1; done
  echo "nginx did not start: $(cat "$work/nginx/error.log" "$work/nginx/out.log")" >&2; exit 1
}

# Runs a command on core 0; prints "user+system-seconds peak-RSS-KiB".
timed() {
  /usr/bin/time -o "$work/time" -f '%U %S %M' taskset -c 0 "$@" >"$work/out" 2>"$work/err" || true
  awk '{ printf "%.3f %d\n", $1 + $2, $3 }' "$work/time"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# A loadplan run's figures from its summary: "requests dropped p50-ms p99-ms".
summary_figures() {
  python3 - "$1/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
t = s["total"]
p = t["latency"]["percentiles"] if t["latency"] else {}
print(t["requests"], s["run"]["dropped_iterations"], p.get("p50", 0), p.get("p99", 0))
EOF
}

closed() {
  local requests=${1:-200000}
  need oha cargo install oha --locked
  need wrk apt wrk
  start_demo
  : >"$work/oha"; : >"$work/wrk"; : >"$work/single"; : >"$work/ref"
  for _ in $(seq "$runs"); do
    read -r cpu rss < <(timed oha --no-tui -c 50 -n "$requests" "$url/api/v1/health/")
    echo "$(awk -v c="$cpu" -v n="$requests" 'BEGIN { printf "%.5f", c * 1000 / n }') $rss" >>"$work/oha"
    # wrk runs for a time, not a count: 50 connections on one thread, its own figure of
    # requests sent.
    read -r cpu rss < <(timed wrk -t1 -c50 -d5s "$url/api/v1/health/")
    n=$(awk '/requests in/ { print $1 }' "$work/out")
    echo "$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.5f", c * 1000 / n }') $rss" >>"$work/wrk"
    rm -rf "$work/r"
    read -r cpu rss < <(timed "$bin" run bench/single.yaml --base-url "$url" -q \
      --set load.iterations="$requests" --out "$work/r")
    read -r n _ < <(summary_figures "$work/r")
    echo "$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.5f", c * 1000 / n }') $rss" >>"$work/single"
    # The reference plan: ten templated endpoints, Bearer auth, captures; no think time.
    rm -rf "$work/r"
    read -r cpu rss < <(timed "$bin" run plans/demo.yaml --base-url "$url" -q --users 50 \
      --duration 10m --set load.think_time=none --set load.iterations="$requests" \
      --set load.spawn_rate=1000/s --out "$work/r")
    read -r n _ < <(summary_figures "$work/r")
    echo "$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.5f", c * 1000 / n }') $rss" >>"$work/ref"
  done
  local oha_k
  oha_k=$(cut -d' ' -f1 "$work/oha" | median)
  row() {
    local k rss
    k=$(cut -d' ' -f1 "$2" | median)
    rss=$(cut -d' ' -f2 "$2" | sort -n | tail -1)
    printf '%-30s %14s %8s %9sM   (runs: %s)\n' "$1" "$k" "$(ratio "$k" "$oha_k")" \
      "$((rss / 1024))" "$(cut -d' ' -f1 "$2" | tr '\n' ' ')"
  }
  echo "closed model, $requests requests (wrk: 5 s), 50 connections, demo API"
  printf '%-30s %14s %8s %10s\n' "" "CPU s/1k (med)" "ratio" "peak RSS"
  row "oha, one URL" "$work/oha"
  row "wrk, one URL" "$work/wrk"
  row "loadplan, one endpoint" "$work/single"
  row "loadplan, reference plan" "$work/ref"
  kill "${pids[-1]}" 2>/dev/null || true
}

# One open-model run of TOOL (oha or loadplan) at RATE: appends
# "sent dropped cpu-s cpu-per-1k p50 p99 rss-KiB" to $work/open-TOOL-RATE.
open_once() {
  local tool=$1 rate=$2 cpu rss n p50 p99 dropped
  if [ "$tool" = loadplan ]; then
    rm -rf "$work/r"
    read -r cpu rss < <(timed "$bin" run bench/open.yaml --base-url "$url" -q --rate "$rate" \
      --duration "$duration" --out "$work/r")
    read -r n dropped p50 p99 < <(summary_figures "$work/r")
    echo "$n $dropped $cpu $(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.5f", c * 1000 / n }') $p50 $p99 $rss" >>"$work/open-loadplan-$rate"
    return
  fi
  read -r cpu rss < <(timed oha --no-tui -q "$rate" -z "$duration" -c 100 --latency-correction \
    --output-format json "$url/")
  read -r n p50 p99 < <(python3 - "$work/out" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
p = s["latencyPercentiles"]
print(sum(s["statusCodeDistribution"].values()), p["p50"] * 1000, p["p99"] * 1000)
EOF
)
  echo "$n 0 $cpu $(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.5f", c * 1000 / n }') $p50 $p99 $rss" >>"$work/open-oha-$rate"
}

# The median of column COL of FILE.
col() { cut -d' ' -f"$2" "$1" | median; }

open() {
  local rates=("$@")
  [ ${#rates[@]} -gt 0 ] || rates=(20000 40000)
  need oha cargo install oha --locked
  start_nginx
  for _ in $(seq "$runs"); do
    for rate in "${rates[@]}"; do open_once oha "$rate"; open_once loadplan "$rate"; done
  done
  echo "open model, $duration at each rate, nginx (1 worker) on core 1, generator on core 0; medians of $runs"
  printf '%-8s %-9s %9s %8s %7s %9s %6s %8s %8s %7s %8s\n' rate tool sent held dropped "CPU s" ratio "p50 ms" "p99 ms" "p99 x" "RSS"
  for rate in "${rates[@]}"; do
    local o="$work/open-oha-$rate" l="$work/open-loadplan-$rate" want
    want=$(awk -v r="$rate" -v s="$seconds" 'BEGIN { print r * s }')
    for tool in oha loadplan; do
      local f="$work/open-$tool-$rate" sent
      sent=$(col "$f" 1)
      printf '%-8s %-9s %9s %7s%% %7s %9s %6s %8.3f %8.3f %7s %7sM\n' "$rate/s" "$tool" "$sent" \
        "$(awk -v a="$sent" -v b="$want" 'BEGIN { printf "%.2f", 100 * a / b }')" \
        "$(col "$f" 2)" "$(col "$f" 3)" "$(ratio "$(col "$f" 4)" "$(col "$o" 4)")" \
        "$(col "$f" 5)" "$(col "$f" 6)" "$(ratio "$(col "$f" 6)" "$(col "$o" 6)")" \
        "$(($(cut -d' ' -f7 "$f" | sort -n | tail -1) / 1024))"
    done
    echo "  loadplan runs (sent dropped CPU): $(cut -d' ' -f1-3 "$l" | tr '\n' ';')"
  done
  kill "${pids[-1]}" 2>/dev/null || true
}

# The highest rate, in steps of 10,000/s, that each tool holds within ±1 % (and, for
# loadplan, with no drop) for 5 s on one core.
max() {
  need oha cargo install oha --locked
  start_nginx
  local saved=$duration
  duration=5s; seconds=5
  for tool in oha loadplan; do
    local held=none
    for rate in $(seq 40000 10000 150000); do
      open_once "$tool" "$rate"
      local f="$work/open-$tool-$rate"
      if awk -v r="$rate" '{ exit !($1 >= 0.99 * r * 5 && $1 <= 1.01 * r * 5 && $2 == 0) }' <(tail -1 "$f"); then
        held=$rate
      else
        break
      fi
    done
    echo "$tool: the highest rate held within ±1 % for 5 s on one core: $held/s"
  done
  duration=$saved
  kill "${pids[-1]}" 2>/dev/null || true
}

check() {
  start_demo
  rm -rf "$work/r"
  taskset -c 0 "$bin" run bench/open.yaml --base-url "$url" -q --rate 10000 --duration 2s \
    --out "$work/r" >"$work/out" 2>&1 || {
    cat "$work/out" >&2; echo "bench check: the run failed" >&2; exit 1; }
  read -r n dropped _ < <(summary_figures "$work/r")
  echo "bench check: 10,000/s for 2 s against the demo API: $n iterations, $dropped dropped"
  if [ "$dropped" -ne 0 ] || [ "$n" -lt 19600 ] || [ "$n" -gt 20400 ]; then
    echo "bench check: FAILED (expected 20,000 ± 2 % and no drop)" >&2; exit 1
  fi
}

case $mode in
  closed) closed "$@" ;;
  open) open "$@" ;;
  max) max ;;
  check) check ;;
  all) closed "$@"; open ;;
  *) echo "usage: bench/run.sh [closed [REQUESTS] | open [RATE...] | max | check]" >&2; exit 2 ;;
esac
