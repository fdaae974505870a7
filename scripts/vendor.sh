#!/usr/bin/env bash
# Re-fetch the vendored front-end libraries from the npm registry at their
# pinned versions and refuse to install anything whose sha256 has changed.
# The app must work offline under a strict CSP, so nothing is loaded from a CDN.
#
# Usage: scripts/vendor.sh          # fetch, verify, install into static/vendor/
#        scripts/vendor.sh --check  # verify the files already in static/vendor/
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENDOR="$ROOT/static/vendor"

# package version  file-in-package  destination  sha256
PINS=(
  "htmx.org 2.0.11 dist/htmx.min.js htmx/htmx.min.js d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
  "htmx.org 2.0.11 LICENSE htmx/LICENSE d3d2456f76414f2456104660ebd65aff1c04cd7966b942bdabd63f3cdb316a38"
  "chart.js 4.5.1 dist/chart.umd.min.js chartjs/chart.umd.min.js 48444a82d4edcb5bec0f1965faacdde18d9c17db3063d042abada2f705c9f54a"
  "chart.js 4.5.1 dist/chart.umd.min.js.map chartjs/chart.umd.min.js.map 8c328df49d295935c81d64d3b36d6ac1c20c385f1ba5b4df3ec12a26b3d64d9b"
  "chart.js 4.5.1 LICENSE.md chartjs/LICENSE.md 41a84aa2caba645f966a18d9c2056b73e6d3a81d80bc0046bc0011a2634d4cce"
)

sha256() { sha256sum "$1" | cut -d' ' -f1; }

check_only=false
[[ "${1:-}" == "--check" ]] && check_only=true

if $check_only; then
  status=0
  for pin in "${PINS[@]}"; do
    read -r _pkg _ver _src dest want <<<"$pin"
    got="$(sha256 "$VENDOR/$dest")"
    if [[ "$got" == "$want" ]]; then
      echo "ok       $dest"
    else
      echo "MISMATCH $dest: expected $want, got $got" >&2
      status=1
    fi
  done
  exit $status
fi

command -v npm >/dev/null || { echo "vendor.sh: npm is required" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

declare -A unpacked=()
for pin in "${PINS[@]}"; do
  read -r pkg ver _src _dest _want <<<"$pin"
  key="$pkg@$ver"
  [[ -n "${unpacked[$key]:-}" ]] && continue
  mkdir -p "$work/$key"
  (cd "$work/$key" && npm pack --silent "$key" >/dev/null)
  tar -xzf "$work/$key"/*.tgz -C "$work/$key"
  unpacked[$key]=1
done

# Verify everything before touching static/vendor/, so a bad fetch changes nothing.
for pin in "${PINS[@]}"; do
  read -r pkg ver src dest want <<<"$pin"
  got="$(sha256 "$work/$pkg@$ver/package/$src")"
  if [[ "$got" != "$want" ]]; then
    echo "vendor.sh: $pkg@$ver $src: expected sha256 $want, got $got" >&2
    exit 1
  fi
done

for pin in "${PINS[@]}"; do
  read -r pkg ver src dest _want <<<"$pin"
  install -D -m 0644 "$work/$pkg@$ver/package/$src" "$VENDOR/$dest"
  echo "installed $pkg@$ver $src -> static/vendor/$dest"
done
