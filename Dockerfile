# syntax=docker/dockerfile:1
#
# One image, two entry points (no ENTRYPOINT; the command picks the role):
#
#   assetcron-operator                         the kopf operator (the Helm chart's Deployment)
#   assetcron asset materialize -m M --select S   the runner (every CronJob pod the operator renders)
#
# Targets (docs/install.md has the details):
#
#   base     (default)  runtime only: the assetcron wheel in a virtualenv on slim Python,
#                       non-root user 10001, no compilers.
#                       docker build -t ghcr.io/assetcron/assetcron:0.1.0 .
#   weather             base + the weather example code location (examples/weather).
#                       Needs the `examples` extra:
#                       docker build --build-arg EXTRAS=examples --target weather \
#                         -t ghcr.io/assetcron/assetcron-weather:0.1.0 .
#
# Your own code location: `FROM ghcr.io/assetcron/assetcron:0.1.0`, install its
# dependencies, COPY the module and set PYTHONPATH (docs/install.md, "Your code location").
#
# The builder and the final stage use the same Python build (same tag, same /usr/local
# prefix), so the virtualenv built in one runs unchanged in the other.

ARG PYTHON_VERSION=3.11.11
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------------------- builder
# The full python image carries gcc, headers and git: everything a source-only
# dependency might need. None of it reaches the final image.
FROM python:${PYTHON_VERSION}-${DEBIAN_RELEASE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m pip install --no-cache-dir "build==1.2.2.post1"

# Only what the wheel is built from (see .dockerignore), so unrelated edits keep the cache.
COPY pyproject.toml README.md ./
COPY runner/ runner/
COPY operator/ operator/
RUN python -m build --wheel --outdir /dist .

# Extras of the wheel to install, comma-separated (e.g. `examples` for the weather image).
ARG EXTRAS=""
# The virtualenv is the only thing the final stage takes from here. --compile writes the
# bytecode now, because the final image runs with a read-only root file system. pip stays
# in it so that images built FROM this one can add their code location's dependencies.
RUN python -m venv /opt/assetcron \
    && /opt/assetcron/bin/pip install --no-cache-dir --compile \
       "$(ls /dist/assetcron-*.whl)${EXTRAS:+[${EXTRAS}]}" \
    && /opt/assetcron/bin/assetcron --help > /dev/null \
    && test -x /opt/assetcron/bin/assetcron-operator

# ---------------------------------------------------------------------------- base
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS base

LABEL org.opencontainers.image.title="assetcron" \
      org.opencontainers.image.description="Dagster-style data assets on Kubernetes CronJobs: the kopf operator (assetcron-operator) and the runner (assetcron)." \
      org.opencontainers.image.source="https://github.com/assetcron/assetcron" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"

# A numeric UID/GID so that Kubernetes can verify runAsNonRoot without a passwd lookup.
ARG UID=10001
ARG GID=10001
RUN groupadd --system --gid "${GID}" assetcron \
    && useradd --system --uid "${UID}" --gid "${GID}" --home-dir /home/assetcron \
       --create-home --shell /usr/sbin/nologin assetcron

COPY --from=builder /opt/assetcron /opt/assetcron

# HOME and the working directory are the only places the runner writes by default
# (`ASSETCRON_STORAGE` defaults to ./.assetcron/storage); in Kubernetes mount a volume
# there (the root file system is read-only under the chart's security context).
ENV PATH="/opt/assetcron/bin:${PATH}" \
    HOME=/home/assetcron \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /home/assetcron
USER ${UID}:${GID}

# The operator's liveness endpoint (kopf, ASSETCRON_LIVENESS_ENDPOINT).
EXPOSE 8080
CMD ["assetcron", "--help"]

# ---------------------------------------------------------------------------- weather
# The example code location the manifests in examples/weather/manifests/ run
# (ghcr.io/assetcron/assetcron-weather:0.1.0). Build it with --build-arg EXTRAS=examples.
FROM base AS weather
COPY --chown=root:root examples/weather /opt/code/weather
ENV PYTHONPATH=/opt/code
# Fail the build here, with a clear message, rather than in the first CronJob pod: the
# example's dependencies are there, and the code location loads and resolves its assets.
RUN python -c "import duckdb, vega_datasets" \
    || { echo "the weather image needs the examples extra: --build-arg EXTRAS=examples" >&2; exit 1; }
RUN assetcron asset list -m weather.definitions --select "*"
