#!/usr/bin/env bash
# Installs Debian's `prometheus` and `prometheus-alertmanager` packages for their binaries only:
# `promtool` (the alert rules' unit tests, `make test`), `amtool` (the Alertmanager configuration's tests),
# and `prometheus` / `prometheus-alertmanager` (the local runtime starts its own on ports it checks first).
#
# On a systemd host (GitHub's Ubuntu runners, most Jenkins agents, laptops) the package's maintainer
# scripts enable and start prometheus.service, a daemon on :9090 on every interface. That daemon takes
# the port the local runtime's Prometheus wants (the alertmanager package's daemon takes :9093 the same
# way), and nobody needs them. So the install runs under a policy-rc.d that refuses every service start
# (invoke-rc.d and deb-systemd-invoke honour it, exit 101 = "action forbidden"), and afterwards any
# prometheus(-alertmanager).service that is enabled or running anyway (an earlier install, a host without
# the policy layer) is stopped and disabled when systemd runs. Idempotent; uses sudo when not root.
set -euo pipefail

sudo_=()
[ "$(id -u)" = 0 ] || sudo_=(sudo)

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1; then
  echo "==> $(promtool --version 2>&1 | head -1), $(amtool --version 2>&1 | head -1) already installed"
else
  echo '==> installing Debian packages prometheus and prometheus-alertmanager without starting their daemons'
  policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d} # overridable for the tests
  if [ -e "$policy" ]; then
    echo "==> $policy exists already: leaving it as it is"
  else
    printf '#!/bin/sh\n# written by install-prometheus.sh during one apt-get install\nexit 101\n' |
      "${sudo_[@]}" tee "$policy" >/dev/null
    "${sudo_[@]}" chmod 0755 "$policy"
    trap '"${sudo_[@]}" rm -f "$policy"' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_[@]}" apt-get update -qq
  "${sudo_[@]}" apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null
  promtool --version 2>&1 | head -1
fi

# /run/systemd/system exists only when systemd is the running init (sd_booted); containers without
# systemd have nothing to stop. (SYSTEMD_DIR: for the tests.)
if [ -d "${SYSTEMD_DIR:-/run/systemd/system}" ] && command -v systemctl >/dev/null 2>&1; then
  for unit in prometheus prometheus-alertmanager; do
    if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
      echo "==> stopping and disabling $unit.service (the package started it; its port must stay free)"
      "${sudo_[@]}" systemctl disable --now "$unit"
    fi
  done
fi
