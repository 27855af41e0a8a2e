# The README's commands. Each target wraps a root package.json script or a script under k8s/.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Prefer the project's own Node 24 (installed by .ci/run or `make install`) when it is there.
export PATH := $(CURDIR)/.tools/node/bin:$(PATH)

RUNTIME ?= auto
SERVICE ?=

# Every command that runs project code installs what it needs first (Node 24 when the machine's is
# older, pnpm, the locked dependencies); afterwards only when the lockfile changes.
INSTALLED := node_modules/.modules.yaml
$(INSTALLED): pnpm-lock.yaml package.json
	@bash .ci/setup.sh
	@touch $@

.PHONY: help install kubectl build lint test bench up down status logs restart chaos verify clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## install Node 24 (if the machine's Node is older), pnpm and all dependencies
	@bash .ci/setup.sh
	@touch $(INSTALLED)

# The manifest tests render the kustomize overlays: kubectl with kustomize v5, installed into .tools/kubectl
# unless one is on PATH (the script is idempotent and says what it does).
kubectl: ## kubectl with kustomize v5 for the manifest tests (k8s/scripts/install-kubectl.sh)
	@bash k8s/scripts/install-kubectl.sh

build: $(INSTALLED) ## type-check the whole repository (strict TypeScript)
	pnpm build

lint: $(INSTALLED) ## ESLint, Prettier, and the Jenkinsfile/workflow linters run by the tests
	pnpm lint

test: $(INSTALLED) kubectl ## what CI runs: lint, type-check and every test (needs promtool: bash k8s/scripts/install-prometheus.sh)
	pnpm lint
	pnpm build
	mkdir -p reports
	mkdir -p reports/console
	CONSOLE_SCREENSHOTS_DIR=$(CURDIR)/reports/console pnpm test --json --outputFile=reports/jest-results.json

bench: $(INSTALLED) ## benchmarks; print figures, never fail on timing
	pnpm bench

up: $(INSTALLED) ## start the platform: KIND when docker+kind are there, else the local runtime (RUNTIME=local|kind forces one)
	@bash k8s/scripts/up.sh "$(RUNTIME)"

down: $(INSTALLED) ## stop the platform (local data is kept until `make clean`)
	@bash k8s/scripts/down.sh "$(RUNTIME)"

status: $(INSTALLED) ## every replica with its state, readiness, restarts and age; the alerts firing in Alertmanager
	@node packages/local-runtime/src/cli.ts status

logs: $(INSTALLED) ## follow the services' logs (SERVICE=order to pick one)
	@node packages/local-runtime/src/cli.ts logs $(SERVICE)

restart: $(INSTALLED) ## rolling restart of one service: make restart SERVICE=order
	@test -n "$(SERVICE)" || { echo "usage: make restart SERVICE=order|inventory|notification"; exit 2; }
	@node packages/local-runtime/src/cli.ts restart $(SERVICE)

chaos: $(INSTALLED) ## pod-kill under load against the running platform (EXPERIMENT=..., ARGS=...)
	pnpm chaos run $(or $(EXPERIMENT),pod-kill) --target $(or $(TARGET),local) $(ARGS)

# The runtime is chosen as `make up` chooses it (k8s/scripts/lib.sh choose_runtime). On KIND the URLs are the
# host ports kind.sh mapped (kind.sh env); the pod-kill round disrupts one pod, hence --yes.
verify: $(INSTALLED) ## self-check after `make up`: rollouts, Prometheus targets/rules, Grafana, an order, one pod kill (ARGS=--json)
	@source k8s/scripts/lib.sh; choose_runtime "$(RUNTIME)"; log "verify: runtime $$RUNTIME_CHOSEN ($$RUNTIME_REASON)"; \
	if [ "$$RUNTIME_CHOSEN" = local ]; then \
	  node chaos/src/cli.ts verify --target local $(ARGS); \
	else \
	  urls=$$(bash k8s/scripts/kind.sh env); eval "$$urls"; \
	  node chaos/src/cli.ts verify --target kubernetes --context "$$KUBE_CONTEXT" --yes --url "$$ORDER_URL" \
	    --prometheus-url "$$PROMETHEUS_URL" --grafana-url "$$GRAFANA_URL" $(ARGS); \
	fi

clean: ## stop everything and delete local data (.data/) and reports
	@bash k8s/scripts/down.sh "$(RUNTIME)" || true
	rm -rf .data reports
