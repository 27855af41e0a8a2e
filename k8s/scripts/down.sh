#!/usr/bin/env bash
# `make down [RUNTIME=auto|kind|local]`: deletes the KIND cluster, or stops the local runtime.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source-path=SCRIPTDIR
source k8s/scripts/lib.sh

requested=${1:-${RUNTIME:-auto}}
choose_runtime "$requested"
cluster=${KIND_CLUSTER_NAME:-self-healing-shop}
# auto: KIND only when its cluster is actually there, so `make down` after a local `make up` stops the
# local runtime even on a machine with Docker and kind.
if [ "$RUNTIME_CHOSEN" = kind ] && [ "$requested" != kind ] && ! kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  RUNTIME_CHOSEN=local
  RUNTIME_REASON="no KIND cluster named $cluster exists"
fi
log "runtime: $RUNTIME_CHOSEN ($RUNTIME_REASON)"

if [ "$RUNTIME_CHOSEN" = local ]; then
  exec node packages/local-runtime/src/cli.ts down
fi
exec bash k8s/scripts/kind.sh down
