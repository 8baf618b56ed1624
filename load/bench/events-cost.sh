#!/bin/bash
# What delivering order events costs: CPU time per order of the API, the worker, Redis and
# MariaDB (and of the stand-in platform), read from /proc, from the first accept until every
# order is PAID — and, with DATA_PLATFORM_URL set, until every event is DELIVERED too.
#   load/bench/events-cost.sh <checkout> [seconds]        (the checkout built: npm run build)
# Two runs: events recorded only (no DATA_PLATFORM_URL), then delivered to a bare node:http
# receiver answering 204. Each: wrk -t1 -c50 order accepts for [seconds] (default 5) as one
# user (TOKEN), one API and one worker process. Needs wrk, MariaDB at its default (setup:
# lone-api.sh; database bench_cpu, its orders and events deleted first) and uses a Redis of
# its own on port 6392 (started, stopped). The MariaDB is the shared one: its CPU includes
# whatever else it serves meanwhile.
set -u
dir=$(cd "$1" && pwd); secs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lone-api.sh"
export REDIS_URL=redis://127.0.0.1:6392 REDIS_PREFIX=evcost
bench_database "$dir"
sql() { mariadb -h127.0.0.1 -uroot -N bench_cpu -e "$1"; }
# The server's statement counters (every client's, the polling below included): all, UPDATEs.
statements() {
  sql "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_update')" |
    awk '{n[$1] = $2} END {print n["Questions"], n["Com_update"]}'
}
receiver='require("node:http").createServer((q, s) => { q.resume(); q.on("end", () => s.writeHead(204).end()); }).listen(3994, "127.0.0.1")'
run() { # label, platform url or ''
  redis-server --port 6392 --bind 127.0.0.1 --save '' --appendonly no --loglevel warning \
    >/dev/null 2>&1 & local redis=$!
  sql "DELETE FROM order_items; DELETE FROM order_events; DELETE FROM balance_ledger; DELETE FROM orders;
       UPDATE products SET stock = 1000000000 WHERE id = 1;
       INSERT INTO users (id, balance) VALUES (42, 1000000000000) ON DUPLICATE KEY UPDATE balance = 1000000000000"
  node -e "$receiver" & local platform=$!
  bench_api "$dir" 3995; local api=$!
  local platformEnv=()
  [ -n "$2" ] && platformEnv=("DATA_PLATFORM_URL=$2")
  (cd "$dir" && exec env "${platformEnv[@]}" node --max-old-space-size=160 \
    --max-semi-space-size=8 dist/workers/main.js >/dev/null 2>&1) & local worker=$!
  bench_wait 3995
  bench_token "$dir"
  local mariadb; mariadb=$(pgrep -x mariadbd | head -1)
  local pids=("$api" "$worker" "$redis" "$mariadb" "$platform") before=() after=()
  for p in "${pids[@]}"; do before+=("$(bench_ticks "$p")"); done
  local q0; q0=$(statements)
  wrk -t1 -c50 "-d${secs}s" -s "$here/wrk/order.lua" http://127.0.0.1:3995/api/orders >/dev/null
  for _ in $(seq 600); do
    local left
    if [ -z "$2" ]; then left=$(redis-cli -p 6392 zcard evcost:open:order)
    else left=$(( $(redis-cli -p 6392 zcard evcost:open:order) + $(sql "SELECT COUNT(*) FROM order_events WHERE status <> 'DELIVERED'") ))
    fi
    [ "$left" = 0 ] && break
    sleep 0.5
  done
  for p in "${pids[@]}"; do after+=("$(bench_ticks "$p")"); done
  local q1; q1=$(statements)
  local orders; orders=$(sql "SELECT COUNT(*) FROM orders WHERE status = 'PAID'")
  local delivered; delivered=$(sql "SELECT COUNT(*) FROM order_events WHERE status = 'DELIVERED'")
  kill "$api" "$worker" "$platform"; wait "$api" "$worker" "$platform" 2>/dev/null
  kill "$redis"; wait "$redis" 2>/dev/null
  python3 - "$1" "$(getconf CLK_TCK)" "$orders" "$delivered" "${before[*]}" "${after[*]}" "$q0" "$q1" <<'PY'
import sys
label, tick, orders, delivered = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
b, a = (list(map(float, x.split())) for x in sys.argv[5:7])
(q0, u0), (q1, u1) = (map(int, x.split()) for x in sys.argv[7:9])
us = [(y - x) * 1e6 / tick / orders for x, y in zip(b, a)]
names = ['api', 'worker', 'redis', 'mariadb']
print(f"{label}: {orders} orders PAID, {delivered} events delivered; µs per order: "
      + ', '.join(f"{n} {u:.0f}" for n, u in zip(names, us))
      + f"; system {sum(us[:4]):.0f}; platform receiver {us[4]:.0f}"
      + f"; MariaDB statements {q1 - q0} ({u1 - u0} UPDATEs)")
PY
}
run 'events recorded only' ''
run 'events delivered' http://127.0.0.1:3994/events
