#!/usr/bin/env bash
# Installs the Debian packages that tests use as peers (never needed by cpv itself), only if missing.
# Idempotent: a machine that already has them does nothing and needs no network.
#   openssh-server: a throwaway sshd on 127.0.0.1 for the SSH transport tests (test/git/ssh.test.ts)
set -euo pipefail
missing=()
command -v /usr/sbin/sshd >/dev/null 2>&1 || missing+=(openssh-server)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
