#!/usr/bin/env bash
# Runs a command that starts the module's components (a bench command) while
# a local Prometheus (Debian's prometheus package) scrapes every port those
# processes listen on, then draws each Grafana dashboard of monitoring/ from
# what was scraped (test/cmd/dashboard-charts) into docs/images.
#
#   DASHBOARDS=csi,vault-provider tools/record-metrics.sh go run ./cmd/bench-csi -volumes 30
#
# Run from test/ (the command runs there). Each process is one "pod" label,
# named after the process (csi-driver, vault-provider, webhook, controller).
set -euo pipefail
command -v prometheus >/dev/null || { echo "prometheus not found: apt-get install prometheus" >&2; exit 1; }
work=$(mktemp -d)
port=${PROMETHEUS_PORT:-19090}
cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 2s, scrape_timeout: 1s}
scrape_configs:
  - job_name: components
    file_sd_configs: [{files: ["$work/targets.json"], refresh_interval: 2s}]
YAML
echo '[]' >"$work/targets.json"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
	--web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
prom=$!

# The components listen on free loopback ports and restart between runs:
# the targets are read again every second from the listening sockets.
discover() {
	while sleep 1; do
		ss -ltnpH 2>/dev/null | awk '
			match($0, /users:\(\("(csi-driver|vault-provider|webhook|controller)"/) {
				name = substr($0, RSTART + 9, RLENGTH - 10); sub(/"$/, "", name)
				addr = $4; if (addr !~ /^127\.0\.0\.1:/) next
				printf "%s{\"targets\":[\"%s\"],\"labels\":{\"pod\":\"%s\"}}", sep, addr, name; sep = ","
			}
			BEGIN { printf "[" } END { print "]" }' >"$work/targets.tmp" && mv "$work/targets.tmp" "$work/targets.json"
	done
}
discover &
disc=$!
trap 'kill $disc $prom 2>/dev/null || true' EXIT

start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"$@"
sleep 5 # the last scrapes
end=$(date -u +%Y-%m-%dT%H:%M:%SZ)
go run ./cmd/dashboard-charts -prometheus "http://127.0.0.1:$port" -start "$start" -end "$end" ${DASHBOARDS:+-only "$DASHBOARDS"}
echo "metrics of $start to $end; Prometheus data in $work"
