#!/bin/bash
# Paired A/B of the API's CPU per request: two checkouts' APIs run at the same time, both
# pinned to CPU 1, each driven by its own wrk (pinned to CPU 0 with a Redis of this script's
# own), and each one's CPU time read from /proc. Whatever else slows the machine in those
# seconds slows both alike, so the ratio B/A holds where back-to-back runs differ by 2x.
#   load/bench/cpu-pair.sh <checkoutA> <checkoutB> [accept|detail] [seconds]
# Each checkout built (npm run build). Needs wrk, taskset and MariaDB at its default (setup:
# lone-api.sh); uses the database bench_cpu (created and migrated if missing) and Redis on
# port 6391 (started, stopped).
# Alternate the order (A B, then B A) over several runs and take the median ratio.
set -u
A=$(cd "$1" && pwd); B=$(cd "$2" && pwd); what=${3:-accept}; secs=${4:-8}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lone-api.sh"
redis_port=6391
export REDIS_URL=redis://127.0.0.1:$redis_port
taskset -c 0 redis-server --port $redis_port --bind 127.0.0.1 --save '' --appendonly no \
  --loglevel warning >/dev/null 2>&1 & redis=$!
bench_database "$A"
# Each API its own Redis prefix: the same keys would be replays.
REDIS_PREFIX=pairA bench_api "$A" 3998 1; pa=$!
REDIS_PREFIX=pairB bench_api "$B" 3999 1; pb=$!
trap 'kill $pa $pb $redis 2>/dev/null; wait 2>/dev/null' EXIT
bench_wait 3998
bench_wait 3999
bench_token "$A"
if [ "$what" = accept ]; then path=/api/orders; args=(-s "$here/wrk/order.lua"); else path=/api/products/1; args=(); fi
both() { # seconds, outA, outB
  taskset -c 0 wrk -t1 -c50 "-d$1s" "${args[@]}" "http://127.0.0.1:3998$path" >"$2" 2>&1 & local w=$!
  taskset -c 0 wrk -t1 -c50 "-d$1s" "${args[@]}" "http://127.0.0.1:3999$path" >"$3" 2>&1
  wait $w
}
out=$(mktemp -d)
both 3 /dev/null /dev/null # warm-up
a0=$(bench_ticks $pa); b0=$(bench_ticks $pb)
both "$secs" "$out/a" "$out/b"
a1=$(bench_ticks $pa); b1=$(bench_ticks $pb)
ra=$(awk '/requests in/{print $1}' "$out/a"); rb=$(awk '/requests in/{print $1}' "$out/b")
rm -rf "$out"
python3 - "$(getconf CLK_TCK)" "$a0" "$a1" "$ra" "$b0" "$b1" "$rb" "$what" <<'PY'
import sys
tick, a0, a1, ra, b0, b1, rb = (float(x) for x in sys.argv[1:8])
a, b = (a1 - a0) * 1e6 / tick / ra, (b1 - b0) * 1e6 / tick / rb
print(f"{sys.argv[8]}: A {a:.1f} µs per request ({ra:.0f}), B {b:.1f} µs ({rb:.0f}), B/A {b / a:.3f}")
PY
