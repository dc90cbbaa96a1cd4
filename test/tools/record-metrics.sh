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
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: components
    file_sd_configs: [{files: ["$work/targets.json"], refresh_interval: 1s}]
YAML
echo '[]' >"$work/targets.json"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
	--web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
prom=$!

# The components listen on free loopback ports and restart between runs:
# the targets are read again every half second from the listening sockets of the
# command's own processes (other processes of the same names on this machine,
# a test suite's, are left out).
"$@" &
cmdpid=$!
ours() { # is $1 a descendant of the command?
	local p=$1
	while [ "$p" -gt 1 ]; do
		[ "$p" = "$cmdpid" ] && return 0
		p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null) || return 1
	done
	return 1
}
discover() {
	while sleep 0.5; do
		local sep="" out="["
		while read -r addr name pid; do
			ours "$pid" || continue
			out+="$sep{\"targets\":[\"$addr\"],\"labels\":{\"pod\":\"$name\"}}"; sep=","
		done < <(ss -ltnpH 2>/dev/null | sed -nE 's/^.* (127\.0\.0\.1:[0-9]+) .*users:\(\("(csi-driver|vault-provider|webhook|controller)",pid=([0-9]+),.*$/\1 \2 \3/p')
		echo "$out]" >"$work/targets.tmp" && mv "$work/targets.tmp" "$work/targets.json"
		# The pictures start when the first component does (not at the build).
		[ -e "$work/first" ] || ! grep -q targets "$work/targets.json" || date -u +%s >"$work/first"
	done
}
discover &
disc=$!
trap 'kill $disc $prom 2>/dev/null || true' EXIT

wait "$cmdpid"
sleep 5 # the last scrapes
end=$(date -u +%Y-%m-%dT%H:%M:%SZ)
[ -e "$work/first" ] || { echo "no component was seen listening" >&2; exit 1; }
start=$(date -u -d "@$(( $(cat "$work/first") - 10 ))" +%Y-%m-%dT%H:%M:%SZ)
go run ./cmd/dashboard-charts -prometheus "http://127.0.0.1:$port" -start "$start" -end "$end" -step 1s -rate-interval 5s ${DASHBOARDS:+-only "$DASHBOARDS"}
echo "metrics of $start to $end; Prometheus data in $work"
