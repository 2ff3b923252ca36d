# Ingest: load tests, benchmarks and fuzzing (docs/benchmarks.md, ## Ingest).
INGEST_BENCH_FLAGS ?= -concurrency 32 -batch 100 -duration 20s -events 20000000

ingest-load-noop: ## ingest load test, no-op publisher (ingest's own cost; loopback, ~25 s)
	$(GO) build -o $(BIN)/ ./ingest/cmd/ingest ./testing/cmd/pubsub-emulator ./testing/cmd/loadgen
	$(BIN)/loadgen -spawn $(BIN) -publisher noop $(INGEST_BENCH_FLAGS)

ingest-load-pubsub: ## ingest load test into the Pub/Sub emulator (its own process; loopback, ~25 s)
	$(GO) build -o $(BIN)/ ./ingest/cmd/ingest ./testing/cmd/pubsub-emulator ./testing/cmd/loadgen
	$(BIN)/loadgen -spawn $(BIN) -publisher pubsub $(INGEST_BENCH_FLAGS)

bench-ingest: ## ingest Go benchmarks (allocations per event)
	$(GO) test -run '^$$' -bench . -benchmem ./ingest/

ingest-fuzz: ## fuzz both ingest decoders for 3 minutes each
	cd ingest && $(GO) test -run '^$$' -fuzz '^FuzzSegmentMessage$$' -fuzztime 3m .
	cd ingest && $(GO) test -run '^$$' -fuzz '^FuzzGA4Payload$$' -fuzztime 3m .

.PHONY: ingest-load-noop ingest-load-pubsub bench-ingest ingest-fuzz
