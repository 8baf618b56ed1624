#!/bin/bash
# CPU time of one API process per request, read from /proc, under wrk: product detail (cached)
# and order accepts (no workers; the queue only grows). Compare two checkouts by alternating:
#   load/bench/cpu-per-request.sh <checkout> <label>     (each checkout built: npm run build)
# Needs wrk, MariaDB and Redis at their defaults; uses the database bench_cpu (created and
# migrated if missing, one product inserted) and the Redis prefix benchcpu (cleared after).
set -u
dir=$(cd "$1" && pwd); label=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/node24" >/dev/null
export DATABASE_URL=mysql://root@127.0.0.1:3306/bench_cpu REDIS_PREFIX=benchcpu LOG_LEVEL=warn PORT=3999 \
  ADMISSION_MAX_BACKLOG=100000000 ADMISSION_MAX_LAG_MS=60000 JWT_SECRET=bench-secret-0123456789-0123456789-abc SEED_DEMO=false
export BENCH_LUA_DIR="$here/wrk"
cd "$dir"
node dist/cli/migrate.js >/dev/null 2>&1
mariadb -h127.0.0.1 -uroot bench_cpu -e "INSERT IGNORE INTO products (id, name, description, price, stock) VALUES (1, 'P', '', 100, 1000000000)"
node --max-old-space-size=160 --max-semi-space-size=8 dist/api/main.js > /dev/null 2>&1 &
pid=$!
for i in $(seq 50); do curl -s -o /dev/null localhost:3999/healthz && break; sleep 0.2; done
TOKEN=$(node dist/cli/token.js 42 2>/dev/null | tail -1); export TOKEN
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
run() { # name, wrk args...
  local name=$1; shift
  wrk -t1 -c50 -d3s "$@" >/dev/null 2>&1   # warm-up
  local c0=$(cpu)
  local out=$(wrk -t1 -c50 -d8s "$@" 2>&1)
  local c1=$(cpu)
  local reqs=$(echo "$out" | awk '/requests in/{print $1}')
  local tick=$(getconf CLK_TCK)
  echo "$label $name reqs=$reqs cpu_us_per_req=$(echo "($c1-$c0)*1000000/$tick/$reqs" | bc -l | cut -c1-6) rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')"
}
run detail http://127.0.0.1:3999/api/products/1
run accept -s "$here/wrk/order.lua" http://127.0.0.1:3999/api/orders
kill $pid; wait $pid 2>/dev/null
redis-cli --scan --pattern 'benchcpu*' | xargs -r -n 500 redis-cli unlink >/dev/null
