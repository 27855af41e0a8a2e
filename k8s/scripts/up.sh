#!/usr/bin/env bash
# `make up [RUNTIME=auto|kind|local]`: starts the platform on a KIND cluster when Docker and kind are
# usable (or RUNTIME=kind), else as local processes with the local runtime (or RUNTIME=local).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source-path=SCRIPTDIR
source k8s/scripts/lib.sh

choose_runtime "${1:-${RUNTIME:-auto}}"
log "runtime: $RUNTIME_CHOSEN ($RUNTIME_REASON)"

if [ "$RUNTIME_CHOSEN" = local ]; then
  exec node packages/local-runtime/src/cli.ts up
fi
exec bash k8s/scripts/kind.sh up
