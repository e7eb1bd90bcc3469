#!/usr/bin/env bash
# Builds kube-apiserver, etcd and helm from their published Go modules into a
# per-version cache outside the repo. Idempotent: skips binaries already there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
K8S_VERSION="${PMO_K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${PMO_ETCD_VERSION:-v3.6.14}"
HELM_VERSION="${PMO_HELM_VERSION:-v3.21.4}"
cache="${PMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provider-migration-operator}"
bin="$cache/bin-k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-helm-${HELM_VERSION}"
mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"

if [ ! -x "$bin/kube-apiserver" ]; then
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldf=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldf="$ldf -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "building kube-apiserver $K8S_VERSION (cold: 10-25 min)" >&2
  (cd "$here/k8s" && go build -p 2 -trimpath -ldflags "-s -w $ldf" \
     -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
fi
if [ ! -x "$bin/etcd" ]; then
  echo "building etcd $ETCD_VERSION" >&2
  (cd "$here/etcd" && go build -p 2 -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin/etcd.tmp" "$bin/etcd"
fi
if [ ! -x "$bin/helm" ]; then
  echo "building helm $HELM_VERSION" >&2
  GOBIN="$bin" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
echo "$bin"
