#!/usr/bin/env bash
# Builds the operator image with podman from a base made of Debian packages (no registry is needed), and
# prints the image reference. The build runs the Dockerfile itself (the one Docker users build), with the
# local base in place of python:3.11-slim, so both builds take the same steps.
#   bash hack/build-image.sh            -> localhost/provider-migration-operator:<key>
# Idempotent and cached outside the repo, keyed on the inputs:
#   base:  $cache/image/base-<base key>.tar (debootstrap of Debian bookworm: python3.11, venv, CA certificates),
#          imported as localhost/pmo-base:<base key>; the key covers the suite, mirror, package list and this
#          script's base recipe.
#   image: localhost/provider-migration-operator:<image key>; the key covers the base key, Dockerfile,
#          .dockerignore, pyproject.toml, README.md and operator/ (the runtime distribution only: workshop/ is
#          not copied in).
# Cold: 2-5 minutes on 2 cores (debootstrap, then pip; docs/helm.md has the measurements); warm: a second.
# Needs root (debootstrap, rootful podman) and: apt-get install podman runc debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${PMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provider-migration-operator}/image"
SUITE="${PMO_IMAGE_SUITE:-bookworm}"
MIRROR="${PMO_IMAGE_MIRROR:-http://deb.debian.org/debian}"
# python-is-python3: the Dockerfile runs `python -m venv`, as in python:3.11-slim.
PACKAGES="python3.11,python3-venv,python3-distutils,python-is-python3,ca-certificates"
REPO="${PMO_IMAGE_REPO:-localhost/provider-migration-operator}"
# crun refuses the hybrid cgroup layout of some hosts; Debian's runc works everywhere we run.
PODMAN=(podman --runtime "${PMO_PODMAN_RUNTIME:-runc}")
step() { echo "build-image: $* ($(date -u +%H:%M:%S))" >&2; }
mkdir -p "$cache"
exec 9>"$cache/.build.lock"   # a second build waits, then finds the first one's result
flock 9

recipe_version=1   # bump when the base recipe below changes
base_key="$(printf '%s\n' "$recipe_version" "$SUITE" "$MIRROR" "$PACKAGES" | sha256sum | cut -c1-16)"
base_tar="$cache/base-$base_key.tar"
base_ref="localhost/pmo-base:$base_key"

if [ ! -s "$base_tar" ]; then
  step "debootstrap $SUITE ($PACKAGES)"
  root="$(mktemp -d "$cache/rootfs.XXXXXX")"
  # --one-file-system: never follow a /proc or /sys that an interrupted debootstrap left mounted.
  trap 'rm -rf --one-file-system "$root"' EXIT
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >&2
  # What a container never uses: package caches and indexes, documentation, locales.
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/* \
         "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
         "$root"/tmp/* "$root"/run/*
  tar --numeric-owner --sort=name -C "$root" -cf "$base_tar.tmp" .
  mv "$base_tar.tmp" "$base_tar"
  rm -rf --one-file-system "$root"; trap - EXIT
fi
if ! "${PODMAN[@]}" image exists "$base_ref"; then
  step "podman import $base_ref"
  "${PODMAN[@]}" import --change 'CMD ["/bin/bash"]' "$base_tar" "$base_ref" >/dev/null
fi

image_key="$( {
  echo "$base_key"
  cat Dockerfile .dockerignore pyproject.toml README.md
  find operator -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -path '*.egg-info/*' -print0 \
    | sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-16)"
image_ref="$REPO:$image_key"
if ! "${PODMAN[@]}" image exists "$image_ref"; then
  step "podman build $image_ref"
  # pip inside the build reaches the index through this host's network and trusts what this host trusts
  # (a TLS-inspecting proxy's CA, say): both are mounted for the RUN steps only, never stored in a layer.
  conf="$(mktemp)"; trap 'rm -f "$conf"' EXIT
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$conf"
  [ -z "${PIP_INDEX_URL:-}" ] || printf 'index-url = %s\n' "$PIP_INDEX_URL" >> "$conf"
  # --layers=false: no intermediate images are kept (the key above is the cache), so disk use stays flat.
  "${PODMAN[@]}" build --network host --pull=never --layers=false \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    -v "$conf:/etc/pip.conf:ro" -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    --build-arg PYTHON_IMAGE="$base_ref" -t "$image_ref" -f Dockerfile . >&2
fi
"${PODMAN[@]}" tag "$image_ref" "$REPO:dev"
# Earlier builds of this repository's image (other keys) are superseded: drop them.
"${PODMAN[@]}" images --format '{{.Repository}}:{{.Tag}}' --filter "reference=$REPO" \
  | grep -v -x -e "$image_ref" -e "$REPO:dev" | xargs -r "${PODMAN[@]}" rmi >/dev/null 2>&1 || true
size="$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$image_ref")"
step "$image_ref: $((size / 1000000)) MB"
echo "$image_ref"
