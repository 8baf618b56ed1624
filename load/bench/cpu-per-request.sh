#!/bin/bash
# CPU time of one API process per request, read from /proc, under wrk: product detail (cached)
# and order accepts (no workers; the queue only grows). Compare two checkouts by alternating:
#   load/bench/cpu-per-request.sh <checkout> <label>     (each checkout built: npm run build)
# WRK_OPTIONS sets wrk's threads and connections (default -t1 -c50); BENCH_USERS=N sends the
# accepts as users 1..N in turn (default: user 42 alone); ACCEPT_ROUNDS=N measures the accepts
# N times in a row on the same API process (default 1): how its cost settles.
# Needs wrk, MariaDB and Redis at their defaults (setup: lone-api.sh); uses the database
# bench_cpu (created and migrated if missing, one product inserted) and the Redis prefix
# benchcpu (cleared after).
set -u
dir=$(cd "$1" && pwd); label=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lone-api.sh"
export REDIS_PREFIX=benchcpu
bench_database "$dir"
bench_api "$dir" 3999
pid=$!
bench_wait 3999
bench_token "$dir"
wrk_options=${WRK_OPTIONS:--t1 -c50}
if [ -n "${BENCH_USERS:-}" ]; then
  BENCH_TOKENS=$(mktemp)
  trap 'rm -f "$BENCH_TOKENS"' EXIT
  for user in $(seq "$BENCH_USERS"); do (cd "$dir" && node dist/cli/token.js "$user" | tail -1); done >"$BENCH_TOKENS"
  export BENCH_TOKENS
fi
run() { # name, wrk args...
  local name=$1; shift
  wrk $wrk_options -d3s "$@" >/dev/null 2>&1   # warm-up
  local c0=$(bench_ticks $pid)
  local out=$(wrk $wrk_options -d8s "$@" 2>&1)
  local c1=$(bench_ticks $pid)
  local reqs=$(echo "$out" | awk '/requests in/{print $1}')
  local tick=$(getconf CLK_TCK)
  echo "$label $name reqs=$reqs cpu_us_per_req=$(echo "($c1-$c0)*1000000/$tick/$reqs" | bc -l | cut -c1-6) rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')"
}
run detail http://127.0.0.1:3999/api/products/1
for round in $(seq "${ACCEPT_ROUNDS:-1}"); do
  name=accept; [ "${ACCEPT_ROUNDS:-1}" -gt 1 ] && name="accept-round-$round"
  run "$name" -s "$here/wrk/order.lua" http://127.0.0.1:3999/api/orders
done
kill $pid; wait $pid 2>/dev/null
redis-cli --scan --pattern 'benchcpu*' | xargs -r -n 500 redis-cli unlink >/dev/null
