#!/usr/bin/env bash
# Idempotent set-up for `make setup`, `make test`, `make demo` and CI, on a fresh machine or a warm one.
#   bash hack/ci-setup.sh [python] [prometheus] [browser] [litellm] [binaries] [image]     (no argument: all)
# prometheus: the Debian package, installed when missing (its own daemon is kept from starting: we run
#             our own on a free loopback port). python: `pip install -e '.[dev]' -e ./workshop`, skipped when this
#             checkout is already installed with the same pyproject.toml. binaries: hack/build-binaries.sh.
# browser: Debian's chromium and chromium-driver (apt, when missing), for the `pmo dashboard` browser test.
# image: hack/build-image.sh (podman; the tools are apt-installed under CI only).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
ci() { case "${CI:-}" in 1|true|TRUE|True|yes) return 0;; *) return 1;; esac; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
parts="${*:-python prometheus browser litellm binaries image}"

setup_prometheus() {
  if command -v prometheus >/dev/null || [ -x /usr/bin/prometheus ]; then return; fi
  echo "setup: installing prometheus (apt)" >&2
  local guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then  # tell the package's postinst not to start a daemon
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$guard" >/dev/null
    as_root chmod +x "$guard"
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  [ -z "$guard" ] || as_root rm -f "$guard"
  # Where systemd runs anyway, keep the packaged daemon (port 9090, /var/lib/prometheus) out of the way.
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    as_root systemctl disable --now prometheus || true
  fi
}

setup_browser() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return; fi
  echo "setup: installing chromium and chromium-driver (apt)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
}

setup_python() {
  mkdir -p build
  local stamp=build/.pip-installed want
  want="$("$PYTHON" -c 'import sys; print(sys.prefix)') $(cat pyproject.toml workshop/pyproject.toml | sha256sum | cut -c1-16)"
  # Installed from *this* checkout (CI clones elsewhere) with the same dependencies?
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$PYTHON" - <<'PY' 2>/dev/null
import pathlib, sys, provider_migration, pmo_devenv
here = pathlib.Path(provider_migration.__file__).resolve().parents[1], pathlib.Path(pmo_devenv.__file__).resolve().parents[1]
sys.exit(here != (pathlib.Path("operator").resolve(), pathlib.Path("workshop").resolve()))
PY
  then return; fi
  echo "setup: pip install -e '.[dev]' -e ./workshop" >&2
  "$PYTHON" -m pip install -q --root-user-action=ignore -e '.[dev]' -e ./workshop
  echo "$want" > "$stamp"
}

setup_binaries() {
  if ! command -v go >/dev/null && ! ci; then
    # Outside CI the e2e tests then skip and say how to enable them; in CI the build below fails.
    bash hack/build-binaries.sh >/dev/null 2>&1 \
      || echo "setup: Go not found: kube-apiserver/etcd/helm not built, e2e tests will skip" >&2
    return
  fi
  bash hack/build-binaries.sh >/dev/null
}

setup_litellm() {
  local cache spec venv stamp
  cache="${PMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provider-migration-operator}"
  spec="$("$PYTHON" -c 'import tomllib; print(*tomllib.load(open("workshop/pyproject.toml", "rb"))["tool"]["pmo-workshop"]["litellm"], sep="\n")')"
  venv="$cache/litellm-venv" stamp="$cache/litellm-venv/.pmo-spec"
  # Must match pmo_devenv/litellm_proxy.py:venv_dir(). Reused while the range is unchanged; CI re-resolves
  # it every run so it tests the newest release in range.
  if [ -x "$venv/bin/litellm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$spec" ] && ! ci; then return; fi
  mapfile -t specs <<< "$spec"
  echo "setup: ${specs[*]} into $venv" >&2
  mkdir -p "$cache"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --root-user-action=ignore --disable-pip-version-check --upgrade "${specs[@]}"
  echo "$spec" > "$stamp"
}

setup_image() {
  # The operator image (hack/build-image.sh: podman, from a Debian base made with debootstrap). Outside CI
  # it is built only where podman already is (the image e2e test skips otherwise); CI installs the tools.
  if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
    if ! ci; then
      echo "setup: podman/runc/debootstrap not found: the image is not built, its e2e test will skip" >&2
      return
    fi
    echo "setup: installing podman runc debootstrap (apt)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
  fi
  as_root bash hack/build-image.sh >/dev/null
}

for part in $parts; do "setup_$part"; done
