# Reprocessing: the backfill command and its benchmarks (docs/reprocessing.md).
FROM ?=
TO ?=
MERCHANT ?=
DRY_RUN ?=
SEALBENCH_EVENTS ?= 1000000

backfill: build ## recompute FROM..TO (whole UTC hours) from data/archive; MERCHANT=id to scope, DRY_RUN=1 to only compare
	$(BIN)/backfill --source data/archive --from '$(FROM)' --to '$(TO)' \
		$(if $(MERCHANT),$(foreach m,$(MERCHANT),--merchant $(m))) $(if $(DRY_RUN),--dry-run)

bench-backfill: build ## backfill events/s and peak RSS over a 1M-event archive, per chunk size
	$(GO) run ./testing/cmd/sealbench -mode=backfill -bin=$(BIN) -events=$(SEALBENCH_EVENTS)

bench-seal-delay: build ## how long after a closed hour gets events it is served sealed (local stack)
	$(GO) run ./testing/cmd/sealbench -mode=delay -bin=$(BIN)

.PHONY: backfill bench-backfill bench-seal-delay
