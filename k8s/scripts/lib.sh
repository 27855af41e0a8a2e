# shellcheck shell=bash
# Shared by up.sh, down.sh and kind.sh (sourced, not executed).
# RUNTIME_CHOSEN and RUNTIME_REASON are read by the scripts that source this file.
# shellcheck disable=SC2034

log() { printf '==> %s\n' "$*"; }
# sha256sum on Linux, shasum on macOS.
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi
}
die() {
  printf 'error: %s\n' "$*" >&2
  exit 2
}

# Sets RUNTIME_CHOSEN (kind|local) and RUNTIME_REASON from the requested runtime (auto|kind|local).
choose_runtime() {
  local requested=${1:-auto}
  case "$requested" in
    kind)
      RUNTIME_CHOSEN=kind
      RUNTIME_REASON='RUNTIME=kind was requested'
      ;;
    local)
      RUNTIME_CHOSEN=local
      RUNTIME_REASON='RUNTIME=local was requested'
      ;;
    auto | '')
      if ! command -v docker >/dev/null 2>&1; then
        RUNTIME_CHOSEN=local
        RUNTIME_REASON='docker is not installed'
      elif ! docker info >/dev/null 2>&1; then
        RUNTIME_CHOSEN=local
        RUNTIME_REASON='docker is installed but `docker info` gets no answer from a Docker engine'
      elif ! command -v kind >/dev/null 2>&1; then
        RUNTIME_CHOSEN=local
        RUNTIME_REASON='docker answers but kind is not on PATH'
      else
        RUNTIME_CHOSEN=kind
        RUNTIME_REASON='docker answers `docker info` and kind is on PATH'
      fi
      ;;
    *) die "unknown RUNTIME '$requested' (use auto, kind or local)" ;;
  esac
}

# The KIND cluster's name from KIND_CLUSTER_NAME (default self-healing-shop), made valid for kind: lower
# case letters, digits and dashes, at most 40 characters so that `<name>-control-plane` stays a valid
# host name. Pipelines pass per-build names (e.g. Jenkins' BUILD_TAG, which holds slashes and capitals
# on multibranch jobs); a name that had to be shortened keeps a hash of the whole so builds stay apart.
cluster_name() {
  local raw=${KIND_CLUSTER_NAME:-self-healing-shop} name
  name=$(printf '%s' "$raw" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9-' '-' | tr -s '-')
  name=${name#-}
  name=${name%-}
  if [ "${#name}" -gt 40 ]; then
    local head=${name:0:31}
    name="${head%-}-$(printf '%s' "$raw" | sha256 | cut -c1-8)"
  fi
  [ -n "$name" ] || die "KIND_CLUSTER_NAME '$raw' has no usable character"
  printf '%s' "$name"
}
