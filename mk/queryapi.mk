# Query API targets (included by the root Makefile).

bench-query: ## query API load test: 1,000 merchants × 45 days in bttest (needs ~10 GB), p50/p99 and req/s over HTTP (~8 min)
	$(GO) run ./testing/cmd/querybench -merchants 1000 -days 45 -duration 10s -concurrency 8

bench-query-small: ## query API load test on 50 merchants × 31 days (about a minute)
	$(GO) run ./testing/cmd/querybench -merchants 50 -days 31 -duration 5s -concurrency 8

.PHONY: bench-query bench-query-small
