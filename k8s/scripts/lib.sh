# Shared by up.sh, down.sh and kind.sh (sourced, not executed).

log() { printf '==> %s\n' "$*"; }
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
