#!/usr/bin/env bash
# Proves the packed libraries from outside the workspace: for each example app, a fresh
# `npm install` of the tarballs in dist/packages/ (run `npm run pack` first) and the app's
# pinned dependencies, `tsc` (strict, skipLibCheck off, so the shipped .d.ts are checked),
# then its e2e against the PostgreSQL server of DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/test; the e2e works in a database of its own).
#
# Usage: examples/run.sh [--install-only DIR | --from DIR] [app...]
#   (default: every examples/*/ with a package.json)
# Each app runs from a copy in a temporary directory (removed when it passes). The two
# halves can run apart, as CI does (the installs are network and disk bound, so they run
# in the background while the CPU-bound checks run):
#   --install-only DIR   copy each app to DIR/<app> and `npm install` it there, nothing more
#   --from DIR           `tsc` and e2e the copies a --install-only into DIR made (removed when they pass)
#
# No lockfile (each app's .npmrc says package-lock=false): a lockfile records the
# integrity of each file: tarball, so every rebuild of the libraries would break `npm ci`
# or rewrite the lockfile. The apps pin every direct dependency to an exact version
# instead; what floats is the transitive tree, resolved fresh as a new consumer's would be.
set -euo pipefail

# DIR is taken from where the script was called, before it moves to examples/.
mode=all root=""
case "${1:-}" in
  --install-only | --from)
    [ "$#" -ge 2 ] || { echo "usage: examples/run.sh [--install-only DIR | --from DIR] [app...]" >&2; exit 2; }
    mode=${1#--}
    [ "$mode" = from ] || mkdir -p "$2"
    root=$(cd "$2" 2>/dev/null && pwd) || { echo "examples/run.sh --from $2: no such directory (run --install-only first)" >&2; exit 1; }
    shift 2
    ;;
esac

cd "$(dirname "$0")"

# Runs a step and says how long it took (CI's budget is watched).
timed() {
  local step=$1 since=$SECONDS
  shift
  "$@" || return
  echo "   $step: $(( SECONDS - since )) s"
}

# Every tarball the app names must exist: a version bump renames them.
check_tarballs() {
  local app=$1 tarball
  for tarball in $(node -e '
    const pkg = require(`./${process.argv[1]}/package.json`);
    for (const spec of Object.values({ ...pkg.dependencies, ...pkg.devDependencies }))
      if (spec.startsWith("file:") && spec.endsWith(".tgz")) console.log(spec.slice(5));
  ' "$app"); do
    if [ ! -f "$app/$tarball" ]; then
      echo "examples/$app/package.json names $tarball, which does not exist; run \`npm run pack\`," >&2
      echo "and after a version bump rename the tarballs in examples/*/package.json. dist/packages has:" >&2
      ls ../dist/packages >&2 2>/dev/null || echo "  (nothing)" >&2
      exit 1
    fi
  done
}

# Copies the app into $2 and installs it there. The copy lives outside the repository, laid
# out as here ($2/examples/<app>, $2/examples/e2e.mjs, $2/dist/packages/), so that nothing
# resolves from the workspace's own node_modules: Node and tsc look for a package in every
# parent directory, and the workspace has Nest 12 and optional peers (@nestjs/schedule,
# @nestjs/swagger) that the apps do not install.
install_copy() {
  local app=$1 work=$2
  mkdir -p "$work/examples/$app" "$work/dist"
  cp -r ../dist/packages "$work/dist/"
  cp e2e.mjs "$work/examples/"
  tar -C "$app" --exclude=./node_modules --exclude=./dist -cf - . | tar -C "$work/examples/$app" -xf -
  # The code both apps share (controllers, users, config: the same source on both stacks;
  # its relative imports end in .js, which CommonJS and ES module builds both resolve).
  cp shared/*.ts "$work/examples/$app/src/"
  (cd "$work/examples/$app" && timed install npm install --prefer-offline --no-audit --no-fund --loglevel=error) ||
    { echo "examples/$app failed to install; its copy is in $work/examples/$app" >&2; exit 1; }
}

if [ "$#" -gt 0 ]; then apps=("$@"); else apps=(); for dir in */; do [ -f "$dir/package.json" ] && apps+=("${dir%/}"); done; fi

for app in "${apps[@]}"; do
  started=$(date +%s)
  echo "== examples/$app${root:+ ($mode, in $root/$app)}"
  # The copy: laid out as here (see install_copy), in a temporary directory or under DIR.
  if [ -n "$root" ]; then work="$root/$app"; else work=$(mktemp -d); fi
  if [ "$mode" != from ]; then
    check_tarballs "$app"
    [ -z "$root" ] || rm -rf "$work"
    install_copy "$app" "$work"
  elif [ ! -d "$work/examples/$app/node_modules" ]; then
    echo "$work/examples/$app is not installed: run examples/run.sh --install-only $root $app first" >&2
    exit 1
  fi
  if [ "$mode" = install-only ]; then
    echo "== examples/$app installed in $(( $(date +%s) - started )) s"
    continue
  fi
  # `&&`, not set -e, which a subshell followed by `||` ignores.
  (
    cd "$work/examples/$app" &&
      timed tsc npm run --silent build &&
      timed e2e npm run --silent e2e
  ) || { echo "examples/$app failed; its copy is in $work/examples/$app" >&2; exit 1; }
  rm -rf "$work"
  echo "== examples/$app passed in $(( $(date +%s) - started )) s"
done
