#!/usr/bin/env bash
# A chaos drill watched by a real Prometheus that evaluates the project's runbooks/alerts.yml,
# unmodified, against the drill's own API and worker processes.
#
#   runbooks/incidents/drill-with-prometheus.sh <out dir> [npm run chaos arguments]
#   e.g. runbooks/incidents/drill-with-prometheus.sh /tmp/drill --scenario db-outage-long
#
# The chaos suite starts its processes on free ports and logs them ("api listening" with port,
# "workers started" with metricsPort) under load/results/<run>/logs/<scenario>/. This script
# turns those lines into file_sd targets, so Prometheus scrapes every process the drill starts
# without the chaos code knowing about it. Needs prometheus (Debian package), curl and jq.
# SCRAPE_INTERVAL (default 5s) is the scrape and rule evaluation interval.
#
# Writes to <out dir>: chaos.out (the run's output), alerts.log (every alert state change:
# UTC time, state, alert and labels), prometheus.yml, targets/, and data/ (the TSDB: start
# `prometheus --config.file=<out>/prometheus.yml --storage.tsdb.path=<out>/data` to query it).
# Alerts are watched until the run logs "verifying" (its processes are stopped then).
set -euo pipefail
cd "$(dirname "$0")/../.."

out="${1:?usage: $0 <out dir> [npm run chaos arguments]}"
shift
interval="${SCRAPE_INTERVAL:-5s}"
mkdir -p "$out/targets"
out="$(cd "$out" && pwd)"
for job in shop-api shop-workers; do echo '[]' >"$out/targets/$job.json"; done
cat >"$out/prometheus.yml" <<EOF
global:
  scrape_interval: $interval
  scrape_timeout: $interval
  evaluation_interval: $interval
rule_files:
  - $PWD/runbooks/alerts.yml
scrape_configs:
  - job_name: shop-api
    file_sd_configs: [{ files: ['$out/targets/shop-api.json'], refresh_interval: 5s }]
  - job_name: shop-workers
    file_sd_configs: [{ files: ['$out/targets/shop-workers.json'], refresh_interval: 5s }]
EOF

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
prom="http://127.0.0.1:$port"
prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn 2>"$out/prometheus.log" &
prom_pid=$!
started="$(date +%s)"
chaos_pid=""
cleanup() {
  [ -n "$chaos_pid" ] && kill "$chaos_pid" 2>/dev/null || true
  kill "$prom_pid" 2>/dev/null || true
  wait "$prom_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 60); do curl -sf "$prom/-/ready" >/dev/null && break; sleep 1; done
curl -sf "$prom/-/ready" >/dev/null || { cat "$out/prometheus.log"; exit 1; }
echo "prometheus $prom (rules: runbooks/alerts.yml, interval $interval); output in $out"

npm run chaos -- "$@" >"$out/chaos.out" 2>&1 &
chaos_pid=$!

# The newest results folder created after this script started.
run_dir() {
  find load/results -mindepth 1 -maxdepth 1 -type d -newermt "@$started" 2>/dev/null | sort | tail -n 1
}

# Targets from the processes' logs: "<message>" lines and the field holding the port.
targets() {
  local message="$1" field="$2" pattern="$3" dir
  dir="$(run_dir)"
  [ -n "$dir" ] || { echo '[]'; return; }
  find "$dir/logs" -name "$pattern" -print0 2>/dev/null |
    xargs -0 -r cat |
    jq -R -c --arg m "$message" --arg f "$field" \
      'fromjson? | select(.message == $m) | "127.0.0.1:\(.[$f])"' |
    jq -s -c 'unique | [{ targets: . }]'
}

publish() {
  local job="$1" json="$2"
  if [ "$json" != "$(cat "$out/targets/$job.json")" ]; then
    echo "$json" >"$out/targets/$job.json.tmp"
    mv "$out/targets/$job.json.tmp" "$out/targets/$job.json"
  fi
}

: >"$out/alerts.log"
previous=""
while kill -0 "$chaos_pid" 2>/dev/null && ! grep -q 'verifying' "$out/chaos.out"; do
  publish shop-api "$(targets 'api listening' port 'api.log')"
  publish shop-workers "$(targets 'workers started' metricsPort 'worker-*.log')"
  current="$(curl -sf "$prom/api/v1/alerts" |
    jq -r '.data.alerts[] | "\(.state) \(.labels.alertname) \(.labels | del(.alertname, .severity) | tojson)"' |
    sort || true)"
  now="$(date -u +%H:%M:%S)"
  comm -13 <(echo "$previous") <(echo "$current") | sed '/^$/d' | sed "s/^/$now + /" >>"$out/alerts.log"
  comm -23 <(echo "$previous") <(echo "$current") | sed '/^$/d' | sed "s/^/$now - /" >>"$out/alerts.log"
  previous="$current"
  sleep 2
done
echo "alert changes until the drill stopped its processes:"
cat "$out/alerts.log"
wait "$chaos_pid" || true
chaos_pid=""
tail -n 5 "$out/chaos.out"
