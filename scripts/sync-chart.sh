#!/usr/bin/env bash
# Copy the CRDs and the Rego policy library into the Helm chart.
#
# Helm can only read files inside the chart directory, so charts/golive keeps copies:
#   crds/*.yaml                          -> charts/golive/crds/          (installed as-is by Helm)
#   policies/<area>/<rule>/policy.rego   -> charts/golive/files/policies/<area>/<rule>/policy.rego
#   policies/lib/<name>/*.rego           -> charts/golive/files/policies/lib/<name>/*.rego
# Tests (policy_test.rego) and samples are not copied: they are not part of the installed library.
# tests/unit/test_chart_files.py fails when the copies drift; run this script after changing
# crds/ or policies/.
#
#   scripts/sync-chart.sh          sync the copies
#   scripts/sync-chart.sh --check  exit 1 and list the differences if the copies are stale
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$root/charts/golive"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/crds" "$stage/files/policies"

cp "$root"/crds/*.yaml "$stage/crds/"
while IFS= read -r -d '' f; do
  rel="${f#"$root/policies/"}"
  case "$rel" in
    lib/*/*.rego) ;;
    */*/policy.rego) ;;
    *) continue ;;
  esac
  [[ "$rel" == *_test.rego ]] && continue
  mkdir -p "$stage/files/policies/$(dirname "$rel")"
  cp "$f" "$stage/files/policies/$rel"
done < <(find "$root/policies" -name '*.rego' -type f -print0)

if [[ "${1:-}" == "--check" ]]; then
  status=0
  diff -r "$stage/crds" "$chart/crds" >/dev/null || { diff -rq "$stage/crds" "$chart/crds" || true; status=1; }
  diff -r "$stage/files/policies" "$chart/files/policies" >/dev/null \
    || { diff -rq "$stage/files/policies" "$chart/files/policies" || true; status=1; }
  [[ $status -eq 0 ]] && echo "chart copies are in sync" || echo "chart copies are stale: run scripts/sync-chart.sh" >&2
  exit $status
fi

rm -rf "$chart/crds" "$chart/files/policies"
mkdir -p "$chart/crds" "$chart/files"
cp "$stage"/crds/*.yaml "$chart/crds/"
cp -r "$stage/files/policies" "$chart/files/policies"
echo "synced $(ls "$chart/crds" | wc -l) CRDs and $(find "$chart/files/policies" -name '*.rego' | wc -l) policy files into charts/golive"
