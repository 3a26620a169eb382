#!/usr/bin/env bash
# Selective install: pack @vigil/core and each feature package with `npm pack`, install the two
# tarballs into an empty app that has only express, and run the middleware there (check-<name>.js).
# Proves each package installs and works alone, without the others or their libraries.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
packages=${VIGIL_SELECTIVE_PACKAGES:-$(cd "$root/scripts/selective-install" && ls check-*.js | sed 's/^check-//; s/\.js$//')}

mkdir -p "$work/tgz"
for name in core $packages; do
  [ "$name" = core ] && [ -n "${seen_core:-}" ] && continue
  [ "$name" = core ] && seen_core=1
  (cd "$root" && npm pack --silent --pack-destination "$work/tgz" -w "packages/$name" >/dev/null)
done

status=0
for name in $packages; do
  app="$work/app-$name"
  mkdir -p "$app"
  (cd "$app" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund express@^5 "$work/tgz/vigil-core-0.1.0.tgz" "$work/tgz/vigil-$name-0.1.0.tgz" >/dev/null)
  cp "$root/scripts/selective-install/lib.js" "$root/scripts/selective-install/check-$name.js" "$app/"
  if (cd "$app" && node "check-$name.js"); then
    echo "selective install: @vigil/$name ok"
  else
    echo "selective install: @vigil/$name FAILED"
    status=1
  fi
done
exit $status
