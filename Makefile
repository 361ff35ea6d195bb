# golive — the two commands a new developer needs: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(shell bash scripts/tools.sh --path)
export PATH := $(BIN):$(PATH)

.PHONY: help venv tools lint test test-unit test-policy test-e2e demo down bench clean \
	test-docs demo-webhook demo-env docs

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The install also builds the embedded engine (OPA as a C shared library, libopa/) with Go.
$(VENV)/.stamp: pyproject.toml constraints.txt setup.py libopa/go.mod libopa/go.sum libopa/main.go libopa/explain.go
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(VENV)/.stamp  ## create .venv with the pinned Python dependencies

tools:  ## build the pinned cluster binaries, KWOK, opa, helm, Argo CD, redis, hey into ~/.cache/golive/bin
	bash scripts/tools.sh

lint: venv tools  ## ruff, mypy, import contracts, opa check/fmt, Regal style rules
	$(VENV)/bin/ruff check controller kit tests bench scripts
	$(VENV)/bin/ruff format --check controller kit tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	opa check --strict policies
	opa check --strict examples/fleet/policies  # the fleet example's team rule, on its own
	$(PY) scripts/lint_rego.py policies  # Regal's package-mirrors-folder and line-length rules
	$(PY) scripts/lint_rego.py examples/fleet/policies
	@test -z "$$(opa fmt --list policies examples/fleet/policies)" || { echo "opa fmt: these need formatting:"; opa fmt --list policies examples/fleet/policies; exit 1; }

test-unit: venv  ## fast tests: pure domain, fake engine, kmock
	$(PY) -m pytest tests/unit -q

test-policy: venv tools  ## Rego unit tests (opa test) and every policy sample
	$(PY) -m pytest tests/policy -q

test-e2e: venv tools  ## real control plane, full cluster (KWOK nodes), OPA, Argo CD on loopback
	$(PY) -m pytest tests/e2e -q

test-docs: venv tools  ## every command in README.md and docs/, on a demo cluster of its own
	$(PY) -m pytest tests/docs -q

test: lint  ## the whole suite: lint, unit, policy and e2e tests
	$(PY) -m pytest tests -q

# Only what the demo starts (no opa, helm, hey, Argo CD, redis: the tests and `make tools` build
# those), so a first demo waits for its own tools only.
DEMO_TOOLS := etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok prometheus promtool

demo: venv  ## local cluster (KWOK node) + CRDs + operator on the embedded engine + examples
	bash scripts/tools.sh $(DEMO_TOOLS)
	$(PY) -m kit.demo up

down: venv  ## stop what `make demo` started
	$(PY) -m kit.demo down

demo-webhook: venv  ## on the running demo: serve the admission webhook, show it refuse an apply
	@$(PY) -m kit.demo_webhook

# No prerequisites: its output is meant for `eval`, so nothing else may print.
demo-env:  ## print KUBECONFIG and PATH for the demo: eval "$(make -s demo-env)"
	@$(PY) -m kit.demo env

docs: venv tools  ## rewrite the outputs shown in README.md and docs/ from a fresh demo's real ones
	GOLIVE_UPDATE_DOCS=1 $(PY) -m pytest tests/docs -q

bench: venv tools  ## every benchmark under bench/, one JSON object per measure
	$(PY) -m bench

clean:  ## remove local state (not the tool cache)
	-$(PY) -m kit.demo down 2>/dev/null
	rm -rf .golive .pytest_cache .mypy_cache .ruff_cache

# ---------------------------------------------------------------------------------------------
# kind: for users with docker and kind. Not used by `make demo` or `make test` (no docker here).
# Owned by the chart/ship-it work; the targets above are unchanged.
# ---------------------------------------------------------------------------------------------
KIND_CLUSTER ?= golive
IMAGE_REPO ?= golive
IMAGE_TAG ?= 0.1.0
GOLIVE_NAMESPACE ?= golive-system
HELM_ARGS ?=

.PHONY: kind-up deploy kind-down sync-chart

kind-up:  ## (docker) create a one-node kind cluster from kind-config.yaml
	kind create cluster --name $(KIND_CLUSTER) --config kind-config.yaml

deploy:  ## (docker) build the image, load it into kind, helm install charts/golive
	docker build -t $(IMAGE_REPO):$(IMAGE_TAG) .
	kind load docker-image $(IMAGE_REPO):$(IMAGE_TAG) --name $(KIND_CLUSTER)
	helm upgrade --install golive charts/golive --namespace $(GOLIVE_NAMESPACE) --create-namespace \
	  --set image.repository=$(IMAGE_REPO) --set image.tag=$(IMAGE_TAG) --wait --timeout 5m $(HELM_ARGS)

kind-down:  ## (docker) delete the kind cluster
	kind delete cluster --name $(KIND_CLUSTER)

sync-chart:  ## copy crds/ and the policy library into charts/golive (after changing either)
	bash scripts/sync-chart.sh
