#!/usr/bin/env bash
# Build the pinned binaries from Go modules into a cache outside the repo: the control plane
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl), simulated nodes (kwok),
# opa, helm, Argo CD (one multi-call binary), Prometheus and promtool, and the benchmarks' HTTP load
# generator (hey). redis
# (Argo CD's cache) is unpacked from Debian's package, never installed as a service. No docker,
# no prebuilt downloads. A warm cache costs one version check per tool.
#
#   scripts/tools.sh            build what is missing, print the bin directory
#   scripts/tools.sh --path     print the bin directory only (no build)
#   scripts/tools.sh TOOL...    build only these tools
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache="${GOLIVE_CACHE:-$HOME/.cache/golive}"
bin="$cache/bin"
work="$cache/build"
mkdir -p "$bin" "$work"

if [[ "${1:-}" == "--path" ]]; then echo "$bin"; exit 0; fi

log() { printf '[tools] %s\n' "$*" >&2; }
fail() { printf '[tools] ERROR: %s\n' "$*" >&2; exit 1; }

# One build at a time per cache: parallel test sessions and `make` targets share it.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  printf '[tools] waiting for another tools.sh run to finish (lock %s)\n' "$cache/.lock" >&2
  flock 9
fi

command -v go >/dev/null || fail "go is not installed (needed to build the pinned tools; Go >= 1.26)"

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
tags="selinux,notest,grpcnotrace"

# wrapper_module DIR MODULE VERSION PKGS [REPLACES...]: a throw-away module that requires MODULE,
# because `go install mod@v` refuses modules whose go.mod has replace directives. PKGS (space
# separated) are the main packages to build; a tools.go behind a build tag lets `go mod tidy`
# resolve their dependencies.
wrapper_module() {
  local dir="$1" mod="$2" ver="$3" pkgs="$4"; shift 4
  rm -rf "$dir"; mkdir -p "$dir"
  {
    echo "module golive.dev/tools"
    echo
    echo "go 1.26"
    echo
    echo "require $mod $ver"
    for r in "$@"; do echo "replace $r"; done
  } >"$dir/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for p in $pkgs; do printf '\t_ "%s"\n' "$p"; done
    printf ')\n'
  } >"$dir/tools.go"
}

# check TOOL FILE EXPECTED: run the binary's version command and insist on the pinned version.
check() {
  local tool="$1" file="$2" want="$3" out
  case "$tool" in
    kube-apiserver) out="$("$file" --version 2>&1)" ;;
    kubectl) out="$("$file" version --client 2>&1)" ;;
    etcd) out="$("$file" --version 2>&1)" ;;
    opa) out="$("$file" version 2>&1)" ;;
    helm) out="$("$file" version --short 2>&1)" ;;
    kube-controller-manager|kube-scheduler) out="$("$file" --version 2>&1)" ;;
    kwok) out="$("$file" --version 2>&1)" ;;
    argocd) out="$("$file" version --client --short 2>&1)" ;;
    redis-server) out="$("$file" --version 2>&1)" ;;
    prometheus|promtool) out="$("$file" --version 2>&1)" ;;
    hey)
      # No version flag: it must run (-h prints its usage); its version is in the build info.
      out="$("$file" -h 2>&1)"; grep -q "Usage: hey" <<<"$out" || fail "hey: '-h' failed: $out"
      out="$(go version -m "$file" 2>&1 | awk '$1 ~ /^(mod|dep)$/ && $2 == "github.com/rakyll/hey" {print $3}')" ;;
  esac || fail "$tool: version check failed: $out"
  grep -q -- "${want#v}" <<<"$out" || fail "$tool: built binary reports '$out', expected $want"
}

# go_build TOOL VERSION DIR PKG [LDFLAGS]: build PKG in DIR into the cache.
go_build() {
  local tool="$1" ver="$2" dir="$3" pkg="$4" ldflags="${5:-}"
  local out="$bin/$tool-$ver"
  log "$tool $ver: go build $pkg (cold builds take minutes)"
  (cd "$dir" && go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg") \
    || fail "$tool $ver: go build of $pkg failed (see the output above)"
  mv "$out.tmp" "$out"
}

KUBERNETES_COMMANDS="kube-apiserver kube-controller-manager kube-scheduler kubectl"

prepare_kubernetes() {
  local dir="$work/kubernetes-$KUBERNETES_VERSION" minor="v0.${KUBERNETES_VERSION#v1.}"
  # The stamp records the commands the module was tidied for: adding one re-tidies.
  [[ "$(cat "$dir/.ready" 2>/dev/null)" == "$KUBERNETES_COMMANDS" ]] && { echo "$dir"; return; }
  log "kubernetes $KUBERNETES_VERSION: resolving modules (staging modules at $minor)"
  local modfile
  modfile="$(curl -fsS "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.mod")" \
    || fail "kubernetes: could not fetch go.mod of k8s.io/kubernetes@$KUBERNETES_VERSION from the Go module proxy"
  # k8s.io/kubernetes requires its staging repos at v0.0.0 and replaces them with local paths;
  # point each at its published twin instead.
  local -a replaces=()
  while read -r staging; do replaces+=("$staging => $staging $minor"); done \
    < <(awk '/^\tk8s.io\/[a-z0-9-]+ v0\.0\.0$/ {print $1}' <<<"$modfile")
  [[ ${#replaces[@]} -gt 0 ]] || fail "kubernetes: found no staging modules in go.mod"
  local pkgs="" c
  for c in $KUBERNETES_COMMANDS; do pkgs+="k8s.io/kubernetes/cmd/$c "; done
  wrapper_module "$dir" k8s.io/kubernetes "$KUBERNETES_VERSION" "$pkgs" "${replaces[@]}"
  (cd "$dir" && go mod tidy >&2 2>&1) || fail "kubernetes: go mod tidy failed in $dir"
  echo "$KUBERNETES_COMMANDS" >"$dir/.ready"; echo "$dir"
}

build_one() {
  local tool="$1" ver dir
  case "$tool" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl) ver="$KUBERNETES_VERSION" ;;
    kwok) ver="$KWOK_VERSION" ;;
    argocd) ver="$ARGOCD_VERSION" ;;
    redis-server) ver="$REDIS_VERSION" ;;
    etcd) ver="$ETCD_VERSION" ;;
    opa) ver="$OPA_VERSION" ;;
    helm) ver="$HELM_VERSION" ;;
    hey) ver="$HEY_VERSION" ;;
    prometheus|promtool) ver="$PROMETHEUS_VERSION" ;;
    *) fail "unknown tool '$tool' (known: ${all_tools[*]})" ;;
  esac
  local out="$bin/$tool-$ver"
  if [[ -x "$out" ]]; then
    check "$tool" "$out" "$ver"; ln -sfn "$tool-$ver" "$bin/$tool"; log "$tool $ver: cached"; return
  fi
  case "$tool" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl)
      dir="$(prepare_kubernetes)"
      local ld="-X k8s.io/component-base/version.gitVersion=$ver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$ver") -X k8s.io/client-go/pkg/version.gitVersion=$ver"
      go_build "$tool" "$ver" "$dir" "k8s.io/kubernetes/cmd/$tool" "$ld" ;;
    etcd)
      dir="$work/etcd-$ver"
      [[ -f "$dir/.ready" ]] || {
        wrapper_module "$dir" go.etcd.io/etcd/server/v3 "$ver" go.etcd.io/etcd/server/v3
        (cd "$dir" && go mod tidy >&2 2>&1) || fail "etcd: go mod tidy failed in $dir"; touch "$dir/.ready"; }
      go_build etcd "$ver" "$dir" go.etcd.io/etcd/server/v3 ;;
    opa)
      dir="$work/opa-$ver"
      [[ -f "$dir/.ready" ]] || {
        wrapper_module "$dir" github.com/open-policy-agent/opa "$ver" github.com/open-policy-agent/opa
        (cd "$dir" && go mod tidy >&2 2>&1) || fail "opa: go mod tidy failed in $dir"; touch "$dir/.ready"; }
      go_build opa "$ver" "$dir" github.com/open-policy-agent/opa \
        "-X github.com/open-policy-agent/opa/v1/version.Version=${ver#v}" ;;
    helm)
      dir="$work/helm-$ver"
      [[ -f "$dir/.ready" ]] || {
        wrapper_module "$dir" helm.sh/helm/v3 "$ver" helm.sh/helm/v3/cmd/helm
        (cd "$dir" && go mod tidy >&2 2>&1) || fail "helm: go mod tidy failed in $dir"; touch "$dir/.ready"; }
      go_build helm "$ver" "$dir" helm.sh/helm/v3/cmd/helm \
        "-X helm.sh/helm/v3/internal/version.version=$ver" ;;
    hey)
      dir="$work/hey-$ver"
      [[ -f "$dir/.ready" ]] || {
        wrapper_module "$dir" github.com/rakyll/hey "$ver" github.com/rakyll/hey
        (cd "$dir" && go mod tidy >&2 2>&1) || fail "hey: go mod tidy failed in $dir"; touch "$dir/.ready"; }
      go_build hey "$ver" "$dir" github.com/rakyll/hey ;;
    kwok)
      dir="$work/kwok-$ver"
      [[ -f "$dir/.ready" ]] || {
        wrapper_module "$dir" sigs.k8s.io/kwok "$ver" sigs.k8s.io/kwok/cmd/kwok
        (cd "$dir" && go mod tidy >&2 2>&1) || fail "kwok: go mod tidy failed in $dir"; touch "$dir/.ready"; }
      go_build kwok "$ver" "$dir" sigs.k8s.io/kwok/cmd/kwok \
        "-X sigs.k8s.io/kwok/pkg/consts.Version=${ver#v}" ;;
    argocd) build_argocd "$ver" ;;
    redis-server) unpack_redis "$ver" ;;
    prometheus|promtool) build_prometheus "$tool" "$ver" ;;
  esac
  check "$tool" "$out" "$ver"
  ln -sfn "$tool-$ver" "$bin/$tool"
  log "$tool $ver: built and checked"
}

# argocd VERSION: Argo CD v3.6 declares go 1.27, so this one build uses the Go 1.27.3 toolchain
# (fetched by the go command from the module proxy). The wrapper copies argo-cd's own replace block
# except its local gitops-engine path (the proxy serves that module at the same version).
build_argocd() {
  local ver="$1" dir="$work/argocd-$1" src
  export GOTOOLCHAIN="$ARGOCD_GO_TOOLCHAIN"
  if [[ ! -f "$dir/.ready" ]]; then
    src="$(go mod download -json "github.com/argoproj/argo-cd/v3@$ver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$src" ]] || fail "argocd: go mod download github.com/argoproj/argo-cd/v3@$ver failed"
    local -a replaces=()
    while read -r line; do replaces+=("$line"); done < <(
      awk '/^replace \($/ {inblock=1; next} inblock && /^\)/ {inblock=0} inblock && /=>/ {sub(/^[ \t]+/, ""); print}' "$src/go.mod")
    [[ ${#replaces[@]} -gt 0 ]] || fail "argocd: found no replace block in $src/go.mod"
    wrapper_module "$dir" github.com/argoproj/argo-cd/v3 "$ver" github.com/argoproj/argo-cd/v3/cmd "${replaces[@]}"
    sed -i "s/^go 1.26$/go ${ARGOCD_GO_TOOLCHAIN#go}/" "$dir/go.mod"
    (cd "$dir" && go mod tidy >&2 2>&1) || fail "argocd: go mod tidy failed in $dir"
    touch "$dir/.ready"
  fi
  go_build argocd "$ver" "$dir" github.com/argoproj/argo-cd/v3/cmd \
    "-X github.com/argoproj/argo-cd/v3/common.version=${ver#v}"
  # The manifests and the git wrapper the repo-server needs live in the module, not the binary.
  src="$(cd "$dir" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)"
  rm -rf "$bin/argocd-$ver.d"; mkdir -p "$bin/argocd-$ver.d"
  cp -r "$src/manifests/crds" "$bin/argocd-$ver.d/crds"
  install -m 0755 "$src/hack/git-verify-wrapper.sh" "$bin/argocd-$ver.d/git-verify-wrapper.sh"
  unset GOTOOLCHAIN
}

# prometheus|promtool VERSION: Prometheus' go.mod has no replace directives, so a plain
# `go install module@version` builds it (its module version v0.3xx.y is release 3.xx.y). The -X
# flags give `--version` its version; keep them and -trimpath fixed, any change recompiles all.
build_prometheus() {
  local tool="$1" ver="$2" gobin="$work/prometheus-$2.bin"
  local ld="-s -w -X github.com/prometheus/common/version.Version=${ver#v}"
  ld+=" -X github.com/prometheus/common/version.Revision=$PROMETHEUS_MODULE_VERSION"
  ld+=" -X github.com/prometheus/common/version.Branch=HEAD"
  log "$tool $ver: go install github.com/prometheus/prometheus/cmd/$tool@$PROMETHEUS_MODULE_VERSION (cold: ~13 min)"
  mkdir -p "$gobin"
  GOBIN="$gobin" go install -trimpath -ldflags "$ld" \
    "github.com/prometheus/prometheus/cmd/$tool@$PROMETHEUS_MODULE_VERSION" \
    || fail "$tool $ver: go install of github.com/prometheus/prometheus/cmd/$tool failed (see above)"
  mv "$gobin/$tool" "$bin/$tool-$ver"
}

# redis-server VERSION: Debian's package (upstream VERSION, whatever Debian revision is current)
# unpacked into the cache with apt-get download + dpkg -x, so no service is installed or started;
# bin/redis-server-VERSION is a wrapper that points the loader at the two libraries beside it.
unpack_redis() {
  local ver="$1" dir="$bin/redis-$1.d" deb candidate
  command -v apt-get >/dev/null || fail "redis-server: needs apt-get and dpkg (Debian's redis-server package)"
  candidate="$(apt-cache policy redis-server | awk '/Candidate:/ {print $2}')"
  [[ "$candidate" == *":$ver-"* ]] \
    || fail "redis-server: Debian offers '$candidate', expected upstream $ver (run apt-get update?)"
  rm -rf "$dir" "$work/redis-debs"; mkdir -p "$dir" "$work/redis-debs"
  (cd "$work/redis-debs" && apt-get download "redis-server=$candidate" "redis-tools=$candidate" libjemalloc2 liblzf1 >&2) \
    || fail "redis-server: apt-get download redis-server=$candidate failed (see above)"
  for deb in "$work"/redis-debs/*.deb; do dpkg -x "$deb" "$dir"; done
  printf '#!/bin/sh\nd="$(dirname "$(readlink -f "$0")")/redis-%s.d"\nLD_LIBRARY_PATH="$d/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$d/usr/bin/redis-server" "$@"\n' "$ver" \
    >"$bin/redis-server-$ver.tmp"
  chmod +x "$bin/redis-server-$ver.tmp"; mv "$bin/redis-server-$ver.tmp" "$bin/redis-server-$ver"
}

all_tools=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok opa helm hey argocd redis-server
  prometheus promtool)
tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=("${all_tools[@]}")
start=$SECONDS
for t in "${tools[@]}"; do build_one "$t"; done
log "all tools ready in $bin ($((SECONDS - start)) s)"
echo "$bin"
