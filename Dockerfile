# syntax=docker/dockerfile:1
#
# One image, two entry points (no ENTRYPOINT; the command picks the role):
#
#   assetcron-operator                            the kopf operator (the Helm chart's Deployment)
#   assetcron asset materialize -m M --select S   the runner (every CronJob pod the operator renders)
#
# Targets (docs/install.md has the details):
#
#   runtime  (default: the last stage)  the assetcron wheel in a virtualenv on slim Python,
#                       non-root user 10001, no compilers.
#                       docker build -t ghcr.io/assetcron/assetcron:0.1.0 .
#   weather             runtime + the `examples` extra + the weather example code location
#                       (examples/weather), which examples/weather/manifests/ run.
#                       docker build --target weather -t ghcr.io/assetcron/assetcron-weather:0.1.0 .
#   dagster-example     runtime + the `dagster` extra + the Dagster example project
#                       (examples/dagster_project, pip-installed as Dagster projects are), which
#                       examples/dagster_project/manifests/ run.
#                       docker build --target dagster-example \
#                           -t ghcr.io/assetcron/assetcron-dagster-example:0.1.0 .
#
# Your own code location: `FROM ghcr.io/assetcron/assetcron:0.1.0`, install its
# dependencies, COPY the module and set PYTHONPATH (docs/install.md, "Your code location").
#
# Build arguments:
#
#   PYTHON_IMAGE   the one base image of every stage. Builder and runtime stages share it, so
#                  the virtualenv built in one runs unchanged in the other (same interpreter
#                  path); every dependency installs from a binary wheel, so no compiler is
#                  needed. `assetcron dev images` builds a Debian-packaged stand-in under the
#                  default name when no registry is reachable.
#   PIP_NO_INDEX, PIP_FIND_LINKS
#                  pip's own settings, for a build without network access:
#                  --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheelhouse installs
#                  only from the wheels in .wheelhouse/ (filled on the host by
#                  `assetcron dev images`). Unset (the default), pip uses the package index.
#   UID, GID       the numeric user of the runtime stages (default 10001:10001).

ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm

# ---------------------------------------------------------------------------- deps
# The virtualenv with the distribution's dependencies only. It is built from
# pyproject.toml alone, so editing the sources does not reinstall the dependencies.
FROM ${PYTHON_IMAGE} AS deps
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Host-built wheels for offline builds (only a README in a fresh checkout).
COPY .wheelhouse/ /wheelhouse/
COPY pyproject.toml ./
# --compile writes the bytecode now, because the final image runs with a read-only root
# file system. pip stays in the virtualenv so that images built FROM this one can add
# their code location's dependencies.
RUN python -m venv /opt/assetcron \
    && python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' \
       > /tmp/requirements.txt \
    && /opt/assetcron/bin/pip install --no-cache-dir --compile -r /tmp/requirements.txt

# ---------------------------------------------------------------------------- builder
# The assetcron wheel (runner/ and operator/; dev/ is not in the build context), installed
# into the virtualenv without touching its dependencies. `pip wheel` builds it with the
# build backend of pyproject.toml in an isolated environment (from the wheelhouse too).
FROM deps AS builder
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
COPY README.md ./
COPY runner/ runner/
COPY operator/ operator/
RUN /opt/assetcron/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
    && /opt/assetcron/bin/pip install --no-cache-dir --compile --no-deps /dist/assetcron-*.whl \
    && /opt/assetcron/bin/pip check \
    && /opt/assetcron/bin/assetcron --help > /dev/null \
    && /opt/assetcron/bin/assetcron-operator --help > /dev/null

# ---------------------------------------------------------------------------- weather-builder
# The same virtualenv plus the `examples` extra, and the example code location compiled.
FROM deps AS weather-builder
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
RUN python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["examples"], sep="\n")' \
       > /tmp/examples.txt \
    && /opt/assetcron/bin/pip install --no-cache-dir --compile -r /tmp/examples.txt
COPY --from=builder /dist/ /dist/
RUN /opt/assetcron/bin/pip install --no-cache-dir --compile --no-deps /dist/assetcron-*.whl \
    && /opt/assetcron/bin/pip check
COPY examples/weather /opt/code/weather
RUN python -m compileall -q /opt/code

# ---------------------------------------------------------------------------- dagster-example-builder
# The same virtualenv plus the `dagster` extra, then the Dagster example project installed
# from its directory as any Dagster project is (`pip install .`: its own build backend and
# its dependency on dagster, from the same wheels). The project imports no assetcron.
FROM deps AS dagster-example-builder
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
RUN python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["dagster"], sep="\n")' \
       > /tmp/dagster.txt \
    && /opt/assetcron/bin/pip install --no-cache-dir --compile -r /tmp/dagster.txt
COPY --from=builder /dist/ /dist/
RUN /opt/assetcron/bin/pip install --no-cache-dir --compile --no-deps /dist/assetcron-*.whl \
    && /opt/assetcron/bin/pip check
COPY examples/dagster_project /src/dagster_project
RUN /opt/assetcron/bin/pip install --no-cache-dir --compile /src/dagster_project \
    && /opt/assetcron/bin/pip check

# ---------------------------------------------------------------------------- runtime-base
# What both runtime images share: labels, the user, the environment. No virtualenv yet.
FROM ${PYTHON_IMAGE} AS runtime-base

LABEL org.opencontainers.image.title="assetcron" \
      org.opencontainers.image.description="Dagster-style data assets on Kubernetes CronJobs: the kopf operator (assetcron-operator) and the runner (assetcron)." \
      org.opencontainers.image.source="https://github.com/assetcron/assetcron" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"

# A numeric UID/GID so that Kubernetes can verify runAsNonRoot without a passwd lookup.
ARG UID=10001
ARG GID=10001
RUN groupadd --system --gid "${GID}" assetcron \
    && useradd --system --no-log-init --uid "${UID}" --gid "${GID}" \
       --home-dir /home/assetcron --create-home --shell /usr/sbin/nologin assetcron

# HOME and the working directory are the only places the runner writes by default
# (`ASSETCRON_STORAGE` defaults to ./.assetcron/storage); in Kubernetes mount a volume
# there (the root file system is read-only under the chart's security context). No
# bytecode is written at run time: it was compiled at build time.
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
# (ghcr.io/assetcron/assetcron-weather:0.1.0): --target weather.
FROM runtime-base AS weather
LABEL org.opencontainers.image.title="assetcron-weather"
COPY --from=weather-builder /opt/assetcron /opt/assetcron
COPY --from=weather-builder /opt/code /opt/code
ENV PYTHONPATH=/opt/code
# Fail the build here rather than in the first CronJob pod: the example's dependencies
# are there, and the code location loads and resolves its assets.
RUN python -c "import duckdb, vega_datasets" \
    && assetcron asset list -m weather.definitions --select "*"

# ---------------------------------------------------------------------------- dagster-example
# The Dagster example project the manifests in examples/dagster_project/manifests/ run
# (ghcr.io/assetcron/assetcron-dagster-example:0.1.0): --target dagster-example. The project
# is a package in the virtualenv, so no PYTHONPATH.
FROM runtime-base AS dagster-example
LABEL org.opencontainers.image.title="assetcron-dagster-example"
COPY --from=dagster-example-builder /opt/assetcron /opt/assetcron
# Fail the build here rather than in the first CronJob pod: the project's bundled data is
# installed, and the Dagster code location loads and resolves the manifest's selection.
RUN python -c "from dagster_project.resources import HackerNewsSnapshot as H; assert H().top_story_ids()" \
    && assetcron asset list -m dagster_project.definitions --select "group:signups"

# ---------------------------------------------------------------------------- runtime
# The default target: ghcr.io/assetcron/assetcron:0.1.0.
FROM runtime-base AS runtime
COPY --from=builder /opt/assetcron /opt/assetcron
