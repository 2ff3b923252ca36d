# Reliability: fault scenarios and the soak (docs/reliability.md).
SOAK_RATE ?= 4000
SOAK_DURATION ?= 10m

fault: ## short fault scenarios (also part of make test; ~3 min)
	$(GO) test -count=1 -v -timeout 20m ./testing/fault/

fault-full: ## full fault scenarios: more events, longer outages, more kills (~8 min)
	FOOTFALL_FAULT_FULL=1 $(GO) test -count=1 -v -timeout 60m ./testing/fault/

soak: build ## soak the local stack (SOAK_RATE events/s for SOAK_DURATION); writes docs/soak.{csv,svg,png}
	$(GO) run ./testing/cmd/soak -bin $(BIN) -out docs -rate $(SOAK_RATE) -duration $(SOAK_DURATION)

.PHONY: fault fault-full soak
