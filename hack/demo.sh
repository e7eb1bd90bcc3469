#!/usr/bin/env bash
# `make demo` until the demo issue lands: start the local environment, install the CRD(s) in crds/,
# apply the examples (or a built-in minimal ProviderMigration when examples/ has none) and show them.
# Tolerant on purpose while the API and the examples are still being written: a rejected manifest is
# reported, not fatal. No operator runs yet, so the migrations have no status.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
DEV_DIR="${DEV_DIR:-.dev}"
"$PYTHON" -m provider_migration.cli.main dev up --dir "$DEV_DIR"
k() { kubectl --kubeconfig "$DEV_DIR/kubeconfig" "$@"; }

shopt -s nullglob
crds=(crds/*.yaml)
if [ ${#crds[@]} -eq 0 ]; then
  echo "demo: no CRD in crds/ yet; the environment is up, nothing more to show"; exit 0
fi
k apply --server-side -f crds/
k wait --for=condition=Established crd --all --timeout=60s

apply() {  # $1: manifest file; creates the namespaces it names first
  for ns in $("$PYTHON" - "$1" <<'PY'
import sys, yaml
print(" ".join(sorted({d["metadata"].get("namespace") for d in yaml.safe_load_all(open(sys.argv[1]))
                       if d and d.get("metadata", {}).get("namespace")})))
PY
  ); do k create namespace "$ns" --dry-run=client -o yaml | k apply -f - >/dev/null; done
  k apply -f "$1" || echo "demo: $1 was rejected (see above)" >&2
}

examples=(examples/*.yaml)
if [ ${#examples[@]} -gt 0 ]; then
  for f in "${examples[@]}"; do apply "$f"; done
else
  f="$(mktemp --suffix=.yaml)"
  cat > "$f" <<'YAML'
apiVersion: migrations.llmops.dev/v1alpha1
kind: ProviderMigration
metadata: {name: support-bot-to-claude, namespace: support}
spec:
  route: {kind: ConfigMap, name: llm-gateway, modelName: chat}
  source: {provider: openai, model: gpt-4o, backend: openai-gpt-4o}
  target: {provider: anthropic, model: claude-sonnet-4, backend: anthropic-claude}
  strategy:
    steps: [{weight: 10, pause: 15m}, {weight: 50, pause: 1h}, {weight: 100}]
YAML
  apply "$f"
  rm -f "$f"
fi
echo
k get pmig -A -o wide || true
echo
echo "kubeconfig: $DEV_DIR/kubeconfig   stop with: make dev-down"
