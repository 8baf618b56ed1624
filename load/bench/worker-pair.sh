#!/bin/bash
# Paired A/B of the worker's CPU per finalised order (and its Redis's): the order side's
# counterpart of cpu-pair.sh. Each checkout gets its own database and Redis; its API fills the
# orders queue for [seconds] with no worker running (funded users, products 1..20, one unit
# each, so orders end PAID), the queues are paused, both workers start pinned to CPU 1, and
# once both answer their /healthz the queues resume and both drain at the same time. Each
# worker's and each Redis's CPU time is read from /proc from the resume until its last order
# is final; module loading and start-up are not in it.
#   load/bench/worker-pair.sh <checkoutA> <checkoutB> [seconds]
# Each checkout built (npm run build). Needs wrk, taskset and MariaDB at its default (setup:
# lone-api.sh); uses the databases bench_wpa and bench_wpb (dropped and migrated each run) and
# Redis on ports 6392 and 6393 (started, stopped).
# Each worker runs with its checkout's HEAP_FLAGS (shared/node-flags.ts, as `npm start` runs it)
# and then NODE_FLAGS_A / NODE_FLAGS_B, if set: the same checkout twice with different flags
# compares V8 settings.
# Alternate the order (A B, then B A) over several runs and take the median ratio.
set -u
A=$(cd "$1" && pwd); B=$(cd "$2" && pwd); secs=${3:-6}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lone-api.sh"
users=200
export BENCH_PRODUCTS=20
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT
out=$(mktemp -d)

# side <name> <checkout> <redis port> <api port> <metrics port>: the environment of one side.
side_env() {
  echo "DATABASE_URL=mysql://root@127.0.0.1:3306/bench_wp$1 REDIS_URL=redis://127.0.0.1:$3" \
    "REDIS_PREFIX=wp$1 WORKER_METRICS_PORT=$5"
}
prepare() { # name checkout redis-port
  taskset -c 0 redis-server --port "$3" --bind 127.0.0.1 --save '' --appendonly no \
    --loglevel warning >/dev/null 2>&1 &
  pids+=($!)
  mariadb -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS bench_wp$1"
  (cd "$2" && env DATABASE_URL=mysql://root@127.0.0.1:3306/bench_wp$1 node dist/cli/migrate.js \
    >/dev/null 2>&1)
  mariadb -h127.0.0.1 -uroot "bench_wp$1" -e "
    INSERT INTO products (id, name, description, price, stock)
      SELECT seq, CONCAT('P', seq), '', 100, 1000000000 FROM seq_1_to_$BENCH_PRODUCTS;
    INSERT INTO users (id, balance) SELECT seq, 100000000000 FROM seq_1_to_$users;"
}
prepare a "$A" 6392
prepare b "$B" 6393
BENCH_TOKENS="$out/tokens"
(cd "$A" && node -e '
  const { signUserToken } = require("./dist/shared/tokens");
  (async () => {
    for (let user = 1; user <= Number(process.argv[1]); user++)
      console.log(await signUserToken(process.env.JWT_SECRET, String(user), "1h"));
  })();' $users) >"$BENCH_TOKENS"
export BENCH_TOKENS

# Fill both queues at the same time, each API on CPU 0 with its own wrk.
(cd "$A" && exec env $(side_env a "$A" 6392 3996 9196) PORT=3996 taskset -c 0 node dist/api/main.js \
  >/dev/null 2>&1) & pa=$!
(cd "$B" && exec env $(side_env b "$B" 6393 3997 9197) PORT=3997 taskset -c 0 node dist/api/main.js \
  >/dev/null 2>&1) & pb=$!
pids+=($pa $pb)
bench_wait 3996
bench_wait 3997
BENCH_KEY=a-$$ wrk -t1 -c50 "-d${secs}s" -s "$here/wrk/order.lua" http://127.0.0.1:3996/api/orders \
  >/dev/null 2>&1 & w=$!
BENCH_KEY=b-$$ wrk -t1 -c50 "-d${secs}s" -s "$here/wrk/order.lua" http://127.0.0.1:3997/api/orders \
  >/dev/null 2>&1
wait $w
kill $pa $pb; wait $pa $pb 2>/dev/null
(cd "$A" && env $(side_env a "$A" 6392 0 9196) node dist/cli/ops.js pause orders >/dev/null)
(cd "$B" && env $(side_env b "$B" 6393 0 9197) node dist/cli/ops.js pause orders >/dev/null)

heap_flags() { (cd "$1" && node -p 'require("./dist/shared/node-flags").HEAP_FLAGS.join(" ")'); }
# shellcheck disable=SC2046 # the flags are words
(cd "$A" && exec env $(side_env a "$A" 6392 0 9196) taskset -c 1 node $(heap_flags "$A") \
  ${NODE_FLAGS_A:-} dist/workers/main.js >/dev/null 2>&1) & wa=$!
# shellcheck disable=SC2046
(cd "$B" && exec env $(side_env b "$B" 6393 0 9197) taskset -c 1 node $(heap_flags "$B") \
  ${NODE_FLAGS_B:-} dist/workers/main.js >/dev/null 2>&1) & wb=$!
pids+=($wa $wb)
for port in 9196 9197; do
  for _ in $(seq 100); do curl -s -o /dev/null "localhost:$port/healthz" && break; sleep 0.2; done
done
redis_pid() { pgrep -f "redis-server 127.0.0.1:$1"; }
ra=$(redis_pid 6392); rb=$(redis_pid 6393)
finals() { mariadb -h127.0.0.1 -uroot -N "bench_wp$1" -e "SELECT COUNT(*) FROM orders"; }
declare -A start
for p in $wa $wb $ra $rb; do start[$p]=$(bench_ticks "$p"); done
(cd "$A" && env $(side_env a "$A" 6392 0 9196) node dist/cli/ops.js resume orders >/dev/null) & r=$!
(cd "$B" && env $(side_env b "$B" 6393 0 9197) node dist/cli/ops.js resume orders >/dev/null)
wait $r
# A side is done when its orders count has not moved for three polls (1.5 s); its CPU is the
# reading taken at the first poll that saw that count.
declare -A last still
for s in a b; do last[$s]=-1; still[$s]=0; done
while [ "${still[a]}" -lt 3 ] || [ "${still[b]}" -lt 3 ]; do
  for s in a b; do
    [ "${still[$s]}" -ge 3 ] && continue
    n=$(finals $s)
    if [ "$n" = "${last[$s]}" ] && [ "$n" -gt 0 ]; then
      still[$s]=$((still[$s] + 1))
    else
      last[$s]=$n; still[$s]=0
      if [ $s = a ]; then w=$wa; r=$ra; else w=$wb; r=$rb; fi
      echo "$(bench_ticks $w) $(bench_ticks $r)" >"$out/$s"
    fi
  done
  sleep 0.5
done
read -r wa1 ra1 <"$out/a"; read -r wb1 rb1 <"$out/b"
python3 - "$(getconf CLK_TCK)" "${last[a]}" "${start[$wa]}" "$wa1" "${start[$ra]}" "$ra1" \
  "${last[b]}" "${start[$wb]}" "$wb1" "${start[$rb]}" "$rb1" <<'PY'
import sys
tick = float(sys.argv[1])
na, wa0, wa1, ra0, ra1, nb, wb0, wb1, rb0, rb1 = (float(x) for x in sys.argv[2:])
us = lambda t0, t1, n: (t1 - t0) * 1e6 / tick / n
wa, wb = us(wa0, wa1, na), us(wb0, wb1, nb)
ra, rb = us(ra0, ra1, na), us(rb0, rb1, nb)
print(f"worker: A {wa:.1f} µs per order ({na:.0f}), B {wb:.1f} µs ({nb:.0f}), B/A {wb / wa:.3f}; "
      f"redis: A {ra:.1f}, B {rb:.1f}, B/A {rb / ra:.3f}")
PY
