# assetcron — `make help` lists the targets.
SHELL := /usr/bin/env bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
ROBFIG_GOLDEN := tests/unit/golden/robfig

.DEFAULT_GOAL := help
.PHONY: help install k8s images test test-unit lint chart-test chart-docs crds robfig-table demo bench dev-up dev-down clean

help: ## List the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,examples]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install assetcron with the dev and example extras

k8s: install ## Install the node's Debian packages (containerd, runc, CNI, buildah, mmdebstrap) and build or reuse the Kubernetes binaries under ~/.cache/assetcron
	$(BIN)/assetcron dev install

images: k8s ## Build the Dockerfile's images with buildah (no Docker) and load them into the running dev node
	$(BIN)/assetcron dev images

test: images ## Run every test: unit, and against the real local cluster and node (integration, end to end)
	$(BIN)/pytest

test-unit: install ## Run only the tests that need no control plane
	$(BIN)/pytest -m 'not controlplane and not e2e'

lint: k8s ## ruff, mypy --strict, import contracts, hadolint (Dockerfile), helm lint (chart, both RBAC modes)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile
	@helm="$$($(BIN)/assetcron dev install 2>/dev/null | sed -n 's/^helm: //p')"; \
	  set -x; \
	  "$$helm" lint --strict charts/assetcron && \
	  "$$helm" lint --strict charts/assetcron --set rbac.scope=namespaced --set 'watchNamespaces={team-a}'

chart-test: images ## The Helm chart and image checks only (unit + control-plane tests)
	$(BIN)/pytest tests/unit/test_chart_values.py tests/unit/test_chart_docs.py tests/unit/test_chart_image.py tests/integration/test_chart.py

chart-docs: install ## Regenerate docs/chart-values.md (the chart's values reference) from values.yaml and its schema
	$(PY) -m assetcron_dev.chartdocs

crds: install ## Regenerate crds/ (and the chart's CRD templates) from the operator's models
	$(PY) -m assetcron_operator.crdgen

robfig-table: ## Regenerate tests/unit/golden/robfig_expected.json with robfig/cron itself (Go, module proxy)
	cd tools/robfig-table && "$(GO)" run . < ../../$(ROBFIG_GOLDEN)_cases.json > ../../$(ROBFIG_GOLDEN)_expected.json.tmp
	mv $(ROBFIG_GOLDEN)_expected.json.tmp $(ROBFIG_GOLDEN)_expected.json

demo: images ## The main job: local cluster with a real node, the operator from its chart, one real weather run
	$(PY) -m assetcron_dev.demo

bench: install ## Run the benchmarks (print figures; no assertions)
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

dev-up: images ## Start the local cluster in the background with the operator (assetcron dev up --operator)
	$(BIN)/assetcron dev up --operator

dev-down: install ## Stop the local cluster and remove the node's traces (assetcron dev down)
	$(BIN)/assetcron dev down

clean: ## Remove the virtualenv and caches (keeps ~/.cache/assetcron binaries)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist
