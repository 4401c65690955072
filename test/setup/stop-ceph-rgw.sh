#!/usr/bin/env bash
# Stops what test/setup/start-ceph-rgw.sh started in BASE_DIR, by the PIDs it recorded there (never
# by process name, so another Ceph on the machine is left alone).
#   test/setup/stop-ceph-rgw.sh [BASE_DIR]        (default /tmp/cpv-ceph-rgw)
base=${1:-/tmp/cpv-ceph-rgw}
pids=$base/pids
[ -f "$pids" ] || exit 0
# Gateway first, monitor last: the reverse of the start order.
tac "$pids" | while read -r _ pid; do kill "$pid" 2>/dev/null || true; done
for _ in $(seq 1 30); do
  alive=0
  while read -r _ pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$pids"
  [ "$alive" = 0 ] && break
  sleep 0.1
done
while read -r _ pid; do kill -9 "$pid" 2>/dev/null || true; done <"$pids"
rm -f "$pids"
