# Sourced by the lone-API and pairing scripts (cpu-per-request.sh, cpu-pair.sh, worker-pair.sh,
# events-cost.sh): what a lone API under wrk needs, set up once. Node 24 on PATH; the environment
# (database bench_cpu, admission limits out of reach, the bench JWT secret); and helpers.
# Needs MariaDB at its default.
bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$bench_dir/../../scripts/node24" >/dev/null
export DATABASE_URL=mysql://root@127.0.0.1:3306/bench_cpu LOG_LEVEL=warn SEED_DEMO=false \
  JWT_SECRET=bench-secret-0123456789-0123456789-abc \
  ADMISSION_MAX_BACKLOG=100000000 ADMISSION_MAX_LAG_MS=60000 ADMISSION_MAX_IN_FLIGHT=100000
export BENCH_LUA_DIR="$bench_dir/wrk"

# The database migrated by <checkout>'s build, with product 1 in stock.
bench_database() {
  (cd "$1" && node dist/cli/migrate.js >/dev/null 2>&1)
  mariadb -h127.0.0.1 -uroot bench_cpu -e "INSERT IGNORE INTO products (id, name, description, price, stock) VALUES (1, 'P', '', 100, 1000000000)"
}

# Starts <checkout>'s API on <port> in the background ([cpu]: pinned there with taskset);
# $! is its pid. The rest of the environment (REDIS_URL, REDIS_PREFIX) is the caller's.
bench_api() {
  local pin=()
  [ -n "${3:-}" ] && pin=(taskset -c "$3")
  (cd "$1" && PORT=$2 exec "${pin[@]}" node --max-old-space-size=160 --max-semi-space-size=8 \
    dist/api/main.js >/dev/null 2>&1) &
}

# Waits until the API on <port> answers /healthz (at most 20 s).
bench_wait() {
  for _ in $(seq 100); do curl -s -o /dev/null "localhost:$1/healthz" && return; sleep 0.2; done
}

# Exports TOKEN: a JWT for user 42 made by <checkout>'s build.
bench_token() {
  TOKEN=$(cd "$1" && node dist/cli/token.js 42 2>/dev/null | tail -1)
  export TOKEN
}

# CPU clock ticks (user + system, every thread) process <pid> has spent so far.
bench_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
