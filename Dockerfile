# syntax=docker/dockerfile:1
# provider-migration-operator: `pmo run` (kopf) as a non-root user on a read-only root filesystem.
#   docker build -t provider-migration-operator:dev .
# Both stages use the same base so the virtualenv's interpreter symlink stays valid; pin it by digest
# for reproducible builds: --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:...
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/pmo
# Only what the wheel needs (see .dockerignore); tests, charts and docs stay out of the image.
COPY pyproject.toml README.md ./
COPY operator/ operator/
# A regular (non-editable) install; pip byte-compiles it here because the runtime filesystem is read-only.
RUN /opt/pmo/bin/pip install '.[notifications]' \
 && /opt/pmo/bin/pmo --help >/dev/null

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="provider-migration-operator" \
      org.opencontainers.image.description="Moves an application's LLM traffic from one model provider to another" \
      org.opencontainers.image.licenses="Apache-2.0"
# The numeric user matches the chart's runAsUser, so runAsNonRoot can be verified without a passwd lookup.
RUN groupadd --system --gid 65532 pmo \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin pmo
COPY --from=build /opt/pmo /opt/pmo
# HOME and MPLCONFIGDIR point at /tmp, the only writable place (an emptyDir in the chart).
ENV PATH=/opt/pmo/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib
USER 65532:65532
# 8080: kopf health endpoint (/healthz); 9090: Prometheus metrics.
EXPOSE 8080 9090
ENTRYPOINT ["pmo", "run"]
# The chart replaces these with its own flags (namespaces, peering, ports).
CMD ["--all-namespaces", "--liveness=http://0.0.0.0:8080/healthz", "--metrics-port=9090"]
