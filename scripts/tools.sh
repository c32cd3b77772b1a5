#!/usr/bin/env bash
# Installs the Go-built tools the deployment checks and the Jaeger end-to-end test need, from the
# Go module proxy, into a per-user cache outside the clone (a fresh clone reuses them):
#
#   bash scripts/tools.sh helm      # prints the path of helm   (installs it first if missing)
#   bash scripts/tools.sh jaeger    # prints the path of jaeger (installs it first if missing)
#   bash scripts/tools.sh all       # both, one path per line
#   bash scripts/tools.sh versions  # the pinned versions and where they go
#
# Pins (change them here only; tests and CI call this script):
#   helm    helm.sh/helm/v3/cmd/helm @ v3.22.0
#   jaeger  github.com/jaegertracing/jaeger/cmd/jaeger @ v1.76.0 (= Jaeger v2.13.0: the v2 binary
#           lives in the v1.x module, whose v2.x tags are not valid Go module versions; the newest
#           version the proxy serves on 2026-11-22)
# Cache: ${SWARM_TOOLS_DIR:-$HOME/.cache/swarm-mesh-tools}/<tool>-<version>/<tool>. Idempotent, and safe
# to run concurrently (one installer at a time per tool, under flock). Only stdout carries the
# paths; progress and errors go to stderr. Exit 1 with the reason when an install fails.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
JAEGER_MODULE_VERSION="${JAEGER_MODULE_VERSION:-v1.76.0}"
JAEGER_VERSION="${JAEGER_VERSION:-v2.13.0}" # the v2 release built from JAEGER_MODULE_VERSION (its CHANGELOG pairs them)
TOOLS_DIR="${SWARM_TOOLS_DIR:-${HOME:?HOME is not set}/.cache/swarm-mesh-tools}"

log() { printf '[tools] %s\n' "$*" >&2; }
die() {
  printf '[tools] ERROR: %s\n' "$*" >&2
  exit 1
}

# Go from PATH, else the usual install location
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi

need_go() {
  command -v go >/dev/null 2>&1 || die "go is not on PATH: install Go (https://go.dev/dl, or /usr/local/go/bin) to build $1 from the Go module proxy"
}

# with_lock NAME CMD...: runs CMD while holding $TOOLS_DIR/NAME.lock (when flock exists)
with_lock() {
  local name=$1
  shift
  mkdir -p "$TOOLS_DIR"
  if command -v flock >/dev/null 2>&1; then
    (
      flock -w 1800 9 || die "timed out waiting for another install of $name ($TOOLS_DIR/$name.lock)"
      "$@"
    ) 9>"$TOOLS_DIR/$name.lock"
  else
    "$@"
  fi
}

# Go settings for the installs: the machine's toolchain when it is new enough, else the one the
# module asks for (GOTOOLCHAIN=auto fetches golang.org/toolchain from the proxy); no VCS stamping.
go_env() {
  env GOTOOLCHAIN="${TOOLS_GOTOOLCHAIN:-auto}" GOFLAGS="${GOFLAGS:--buildvcs=false}" "$@"
}

helm_ok() { [ -x "$1" ] && [ "$("$1" version --template '{{.Version}}' 2>/dev/null)" = "$HELM_VERSION" ]; }

# Built like Helm's own Makefile: the version, and the Kubernetes version its client libraries speak
# (k8s.io/client-go v0.N.x -> 1.N) as the default for `helm template` and the deprecation checks of
# `helm lint` (without these ldflags a `go install`ed helm assumes Kubernetes 1.20).
install_helm() {
  local dir="$TOOLS_DIR/helm-$HELM_VERSION" bin
  bin="$dir/helm"
  helm_ok "$bin" && return 0
  need_go helm
  local gomod minor
  gomod=$(cd "$TOOLS_DIR" && go_env go mod download -json "helm.sh/helm/v3@$HELM_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p') ||
    die "go mod download helm.sh/helm/v3@$HELM_VERSION failed (see above)"
  minor=$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod" | head -n 1)
  [ -n "$minor" ] || die "could not read the k8s.io/client-go version from $gomod"
  local tmp ldflags
  tmp=$(mktemp -d "$TOOLS_DIR/.helm-XXXXXX")
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$minor"
  done
  log "installing helm $HELM_VERSION (Kubernetes 1.$minor by default): go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION (a minute or two, once)"
  if ! go_env GOBIN="$tmp" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2; then
    rm -rf "$tmp"
    die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed (see the go output above: proxy unreachable, checksum database refusal, or a Go older than the module needs)"
  fi
  mkdir -p "$dir"
  mv -f "$tmp/helm" "$bin"
  rm -rf "$tmp"
  helm_ok "$bin" || die "$bin does not report version $HELM_VERSION"
  log "helm installed: $bin"
}

# `go install …/cmd/jaeger@vX` is refused because Jaeger's go.mod has a replace directive, so this
# builds the module as the main module: the module zip from the proxy (go mod download), copied to
# a scratch folder, built with its own go.mod and go.sum (every dependency checked against the sums
# Jaeger committed).
jaeger_ok() { [ -x "$1" ] && "$1" version 2>/dev/null | grep -q "\"gitVersion\":\"$JAEGER_VERSION\""; }

install_jaeger() {
  local dir="$TOOLS_DIR/jaeger-$JAEGER_MODULE_VERSION" bin
  bin="$dir/jaeger"
  jaeger_ok "$bin" && return 0
  need_go jaeger
  local src
  log "installing jaeger (module github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION): downloading the module"
  src=$(cd "$TOOLS_DIR" && go_env go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p') ||
    die "go mod download github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION failed (see above)"
  if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
    die "go mod download gave no module folder for github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION"
  fi
  local tmp
  tmp=$(mktemp -d "$TOOLS_DIR/.jaeger-XXXXXX")
  cp -R "$src" "$tmp/src"
  chmod -R u+w "$tmp/src"
  log "building jaeger from $src (several minutes on 2 cores, once)"
  if ! (cd "$tmp/src" && go_env go build -trimpath \
    -ldflags "-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION" \
    -o "$tmp/jaeger" ./cmd/jaeger) >&2; then
    rm -rf "$tmp"
    die "go build of github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_MODULE_VERSION failed (see the go output above)"
  fi
  mkdir -p "$dir"
  mv -f "$tmp/jaeger" "$bin"
  rm -rf "$tmp"
  jaeger_ok "$bin" || die "$bin does not report version $JAEGER_VERSION"
  log "jaeger $JAEGER_VERSION installed: $bin"
}

tool() {
  case "$1" in
    helm)
      with_lock helm install_helm
      printf '%s\n' "$TOOLS_DIR/helm-$HELM_VERSION/helm"
      ;;
    jaeger)
      with_lock jaeger install_jaeger
      printf '%s\n' "$TOOLS_DIR/jaeger-$JAEGER_MODULE_VERSION/jaeger"
      ;;
    *) die "unknown tool '$1' (helm, jaeger)" ;;
  esac
}

case "${1:-}" in
  helm | jaeger) tool "$1" ;;
  all)
    tool helm
    tool jaeger
    ;;
  versions)
    printf 'helm   helm.sh/helm/v3/cmd/helm@%s -> %s\n' "$HELM_VERSION" "$TOOLS_DIR/helm-$HELM_VERSION/helm"
    printf 'jaeger %s: github.com/jaegertracing/jaeger/cmd/jaeger@%s -> %s\n' "$JAEGER_VERSION" "$JAEGER_MODULE_VERSION" "$TOOLS_DIR/jaeger-$JAEGER_MODULE_VERSION/jaeger"
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
