# Reliability: fault scenarios, the soak and the overload run (docs/reliability.md).
# soak and overload write their samples, plot and summary to data/<name>/;
# UPDATE_DOCS=1 writes them to docs/ (the committed figures) instead.
RELIABILITY_OUT = $(if $(UPDATE_DOCS),docs,data/$@)

soak: RATE ?= 4000
soak: DURATION ?= 10m
overload: RATE ?= 3000
overload: DURATION ?= 15m
overload: AFTER ?= 15m

fault: ## short fault scenarios (also part of make test; ~3 min)
	$(GO) test -count=1 -v -timeout 20m ./testing/fault/

fault-full: ## full fault scenarios: more events, longer outages, more kills (~8 min)
	FOOTFALL_FAULT_FULL=1 $(GO) test -count=1 -v -timeout 60m ./testing/fault/

soak: build ## soak the stack: RATE events/s (4000) for DURATION (10m), then wait until every hour is sealed and check it; writes data/soak/ (UPDATE_DOCS=1: docs/)
	$(GO) run ./testing/cmd/soak -bin $(BIN) -out $(RELIABILITY_OUT) -rate $(RATE) -duration $(DURATION)

overload: build ## offer 3 x RATE (3000) events/s for DURATION (15m), then RATE for AFTER (15m): 503s, nothing acknowledged lost once sealed; writes data/overload/
	$(GO) run ./testing/cmd/overload -bin $(BIN) -out $(RELIABILITY_OUT) -rate $(RATE) -overload $(DURATION) -after $(AFTER)

.PHONY: fault fault-full soak overload
