# The golive operator image: `golive run` (operator + admission webhook) and `golive check`.
#
#   docker build -t golive:0.1.0 .
#
# Runs as the non-root user 65532 with a read-only root filesystem (the chart mounts an emptyDir
# at /tmp, the only writable path it needs). Dependencies are installed from the pinned
# constraints.txt, the same pins the tests use.
# Go is needed at build time only: `pip install .` builds the embedded engine (OPA's evaluator,
# libopa/) as a C shared library inside the package. The Go toolchain is copied from the
# official Go image into the Python build stage.
FROM golang:1.26-bookworm AS go

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/usr/local/go/bin:$PATH
COPY --from=go /usr/local/go /usr/local/go
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in constraints.txt README.md ./
COPY libopa ./libopa
COPY controller ./controller
RUN python -m venv /opt/golive \
 && /opt/golive/bin/pip install -c constraints.txt . \
 && /opt/golive/bin/python -m compileall -q /opt/golive \
 && /opt/golive/bin/python -c "from controller.engine import libopa; print('OPA', libopa.version())"

FROM python:3.11-slim
LABEL org.opencontainers.image.title="golive" \
      org.opencontainers.image.description="Gates AI-agent deployments on a go-live checklist written as Rego policies" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 65532 golive \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin golive
COPY --from=build /opt/golive /opt/golive
# The SAFE policy library, for `golive check` inside the image. In a cluster the chart installs
# it as ConfigMaps labelled golive.dev/policy: "true".
COPY policies /opt/golive/policies
# Memory (docs/performance.md): at most two glibc malloc arenas for the reconcile threads
# (kit/operator.py runs the benchmarks and tests with the same; the chart sets it too).
ENV PATH=/opt/golive/bin:$PATH \
    MALLOC_ARENA_MAX=2 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 9090 9443
ENTRYPOINT ["golive"]
CMD ["--help"]
