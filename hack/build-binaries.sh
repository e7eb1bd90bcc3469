#!/usr/bin/env bash
# Builds kube-apiserver, etcd and helm from their published Go modules (through the Go module proxy) into
# a per-version cache outside the repo, and prints that directory. Idempotent: a binary already there is
# not rebuilt. Cold: ~5-25 min on 2 cores (mostly kube-apiserver); warm: instant.
# The directory name must match pmo_devenv/binaries.py:bin_dir().
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
K8S_VERSION="${PMO_K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${PMO_ETCD_VERSION:-v3.6.14}"
HELM_VERSION="${PMO_HELM_VERSION:-v3.21.4}"
cache="${PMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provider-migration-operator}"
bin="$cache/bin-k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-helm-${HELM_VERSION}"
mkdir -p "$bin"

all_there() { [ -x "$bin/kube-apiserver" ] && [ -x "$bin/etcd" ] && [ -x "$bin/helm" ]; }
if all_there; then echo "$bin"; exit 0; fi

if ! command -v go >/dev/null; then
  echo "build-binaries: Go is not on PATH; install Go >= 1.26 to build kube-apiserver, etcd and helm" >&2
  exit 1
fi
# Two builds at once (CI and a developer) would only fight over 2 cores: the second waits, then skips.
exec 9>"$bin/.build.lock"
flock 9
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"
step() { echo "build-binaries: $* ($(date -u +%H:%M:%S))" >&2; }

if [ ! -x "$bin/kube-apiserver" ]; then
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  # Without these, /version reports v0.0.0-master and breaks Helm's kubeVersion checks.
  ldf=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldf="$ldf -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  step "building kube-apiserver $K8S_VERSION (cold: 5-25 min)"
  (cd "$here/k8s" && go build -p 2 -trimpath -ldflags "-s -w $ldf" \
     -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  "$bin/kube-apiserver.tmp" --version | grep -qx "Kubernetes $K8S_VERSION" \
    || { echo "build-binaries: kube-apiserver does not report $K8S_VERSION" >&2; exit 1; }
  mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
fi
if [ ! -x "$bin/etcd" ]; then
  step "building etcd $ETCD_VERSION"
  (cd "$here/etcd" && go build -p 2 -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin/etcd.tmp" "$bin/etcd"
fi
if [ ! -x "$bin/helm" ]; then
  step "building helm $HELM_VERSION"
  # helm's go.mod has no replace directives, so a plain `go install pkg@version` works.
  tmp="$(mktemp -d "$bin/.helm.XXXXXX")"
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$tmp/helm" "$bin/helm"
  rmdir "$tmp"
fi
step "done"
echo "$bin"
