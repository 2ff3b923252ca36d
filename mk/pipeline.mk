# Streaming pipeline benchmarks (docs/benchmarks.md, "Streaming pipeline").
PIPEBENCH_RATE ?= 3000
PIPEBENCH_DURATION ?= 3m
PIPEBENCH_EVENTS ?= 1000000

bench-pipeline-streaming: build ## streaming events/s, CPU and RSS through ingest → pstest → Prism → bttest
	$(GO) run ./testing/cmd/pipebench -mode=streaming -bin=$(BIN) -rate=$(PIPEBENCH_RATE) -duration=$(PIPEBENCH_DURATION)

bench-pipeline-batch: ## batch events/s and peak RSS of transforms.Metrics on Prism (1M events)
	$(GO) run ./testing/cmd/pipebench -mode=batch -events=$(PIPEBENCH_EVENTS)

bench-pipeline-dedup: ## Prism memory of the dedup state (1M distinct ids)
	$(GO) run ./testing/cmd/pipebench -mode=dedup -events=$(PIPEBENCH_EVENTS)

.PHONY: bench-pipeline-streaming bench-pipeline-batch bench-pipeline-dedup
