#!/usr/bin/env bash
# Installs the Debian packages that tests use as peers (never needed by cpv itself), only if missing.
# Idempotent: a machine that already has them does nothing and needs no network.
#   openssh-server: a throwaway sshd on 127.0.0.1 for the SSH transport tests (test/git/ssh.test.ts)
#   tmux: a real terminal for the progress-bar and setup-wizard tests (test/cli/ui.test.ts, setup.test.ts)
#   openssl: self-signed certificates for the HTTPS git tests
set -euo pipefail
missing=()
command -v /usr/sbin/sshd >/dev/null 2>&1 || missing+=(openssh-server)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
