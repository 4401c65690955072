#!/usr/bin/env bash
# Starts a throwaway one-node Ceph cluster (one monitor, one OSD, one RADOS gateway) on loopback, so
# the S3 tests have a real S3 server without Docker. Needs root (it installs Debian packages when
# they are missing). Takes about 30 s on a warm machine.
#
#   test/setup/start-ceph-rgw.sh [BASE_DIR]        (default /tmp/cpv-ceph-rgw)
#   test/setup/stop-ceph-rgw.sh  [BASE_DIR]
#
# Environment: RGW_PORT (7480), MON_PORT (6789), S3_ACCESS_KEY / S3_SECRET_KEY (minioadmin),
# OBJECTSTORE (bluestore; memstore keeps objects in RAM). When something already answers on
# RGW_PORT it is reused and nothing is started. Prints `READY endpoint=<url>` when usable.
set -euo pipefail

base=${1:-/tmp/cpv-ceph-rgw}
rgw_port=${RGW_PORT:-7480}
mon_port=${MON_PORT:-6789}
access_key=${S3_ACCESS_KEY:-minioadmin}
secret_key=${S3_SECRET_KEY:-minioadmin}
store=${OBJECTSTORE:-bluestore}
endpoint="http://127.0.0.1:$rgw_port"
here=$(cd "$(dirname "$0")" && pwd)
started=$(date +%s)

say() { echo "[ceph-rgw +$(($(date +%s) - started))s] $*" >&2; }

if curl -s -o /dev/null -m 2 "$endpoint/"; then
  say "an S3 server already answers on $endpoint; reusing it"
  echo "READY endpoint=$endpoint"
  exit 0
fi

need=()
for tool in ceph-mon ceph-osd radosgw curl; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ "${#need[@]}" -gt 0 ]; then
  say "installing ceph-mon ceph-osd radosgw ceph-common curl (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
    ceph-mon ceph-osd radosgw ceph-common curl >/dev/null
fi

fail() {
  echo "ceph-rgw: FAILED: $*" >&2
  for log in "$base"/log/*; do [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
  "$here/stop-ceph-rgw.sh" "$base" || true
  exit 1
}

# await SECONDS PID WHAT CMD...: retry CMD every 0.2 s until it succeeds, PID dies, or time is up.
await() {
  local seconds=$1 pid=$2 what=$3; shift 3
  local deadline=$(($(date +%s) + seconds))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "$what exited"
    [ "$(date +%s)" -lt "$deadline" ] || fail "$what not ready after ${seconds}s"
    sleep 0.2
  done
}

rm -rf "$base"
mkdir -p "$base"/{mon,osd,run,log,rgw}
fsid=$(cat /proc/sys/kernel/random/uuid)
conf=$base/ceph.conf

# No authentication, one replica, small and fast timers: a test fixture, never a real cluster.
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
keyring = /dev/null
run dir = $base/run
admin socket = $base/run/\$name.asok
log file = $base/log/\$name.log
pid file = $base/run/\$name.pid
mon data = $base/mon/\$cluster-\$id
osd data = $base/osd/\$cluster-\$id
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# The OSD registers itself by hand below; letting it do so at boot fails on a fresh cluster.
osd class update on start = false
osd crush update on start = false
mon allow pool size one = true
mon warn on pool no redundancy = false
mon allow pool delete = true
# Faster consensus rounds make pool creation by the gateway take ~1 s instead of ~10 s.
paxos propose interval = 0.1
paxos min wait = 0.01
osd beacon report interval = 5
osd heartbeat grace = 60
mon max pg per osd = 1000
osd objectstore = $store
memstore device bytes = 6442450944
bluestore block path = $base/osd/block
bluestore block create = true
bluestore block size = 21474836480
bluestore fsck on mkfs = false
bluestore fsck on mount = false
osd memory target = 1073741824
bluestore cache autotune = false
bluestore cache size = 268435456
osd op num shards = 1
osd op num threads per shard = 2
# A busy CI disk must not make the cluster refuse writes.
mon osd full ratio = .99
mon osd backfillfull ratio = .985
mon osd nearfull ratio = .98
osd failsafe full ratio = .995
mon data avail warn = 2
mon data avail crit = 1
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
mon warn on msgr2 not enabled = false
debug ms = 0
debug osd = 0
debug bluestore = 0
debug rgw = 0
debug mon = 0
[client.rgw.a]
# tcp_nodelay: without it the gateway sends a response's body only once the client has ACKed its
# headers, and Linux delays that ACK by 40 ms on a kept-alive connection: every client was capped
# near 25 requests/s per connection, and the small-file benchmark rows measured that timer.
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw dns name = localhost
rgw thread pool size = 64
rgw enable usage log = false
# Deleted objects' space comes back within a minute, not after RGW's default two hours: the S3
# benchmark writes and deletes ~7 GiB per run, and the 20 GiB OSD filled up after three runs.
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw data = $base/rgw
# Fail a request rather than hang forever when the OSD is gone.
rados osd op timeout = 30
rados mon op timeout = 30
EOF

monmaptool --create --fsid "$fsid" --add a "127.0.0.1:$mon_port" "$base/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$base/monmap" --keyring /dev/null
ceph-mon -c "$conf" -i a -f >"$base/log/mon.out" 2>&1 &
mon_pid=$!
echo "mon $mon_pid" >>"$base/pids"
await 60 "$mon_pid" "monitor" timeout 5 ceph -c "$conf" --connect-timeout 2 mon stat
say "monitor up"

osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(timeout 30 ceph -c "$conf" osd new "$osd_uuid")
mkdir -p "$base/osd/ceph-$osd_id"
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$base/log/osd-mkfs.out" 2>&1 || fail "osd mkfs"
timeout 30 ceph -c "$conf" osd crush add "osd.$osd_id" 1.0 host=localhost root=default >/dev/null 2>&1 ||
  fail "osd crush add"
ceph-osd -c "$conf" -i "$osd_id" -f >"$base/log/osd.out" 2>&1 &
osd_pid=$!
echo "osd $osd_pid" >>"$base/pids"
osd_is_up() { timeout 5 ceph -c "$conf" osd dump 2>/dev/null | grep -q "^osd.$osd_id up"; }
await 120 "$osd_pid" "osd" osd_is_up
say "osd.$osd_id up ($store)"

radosgw -c "$conf" -n client.rgw.a -f >"$base/log/rgw.out" 2>&1 &
rgw_pid=$!
echo "rgw $rgw_pid" >>"$base/pids"
await 180 "$rgw_pid" "radosgw" curl -s -o /dev/null -m 2 "$endpoint/"
say "radosgw answering on $endpoint"

timeout 60 radosgw-admin -c "$conf" user create --uid=cpv-test --display-name=cpv-test \
  --access-key="$access_key" --secret-key="$secret_key" >/dev/null || fail "radosgw-admin user create"
say "S3 user ready (access key $access_key)"
echo "READY endpoint=$endpoint"
