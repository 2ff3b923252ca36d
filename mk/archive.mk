# Local archive (pipelines/io/archive): measurements recorded in docs/benchmarks.md.
ARCHIVE_BENCH_DIR ?= $(or $(TMPDIR),/tmp)/footfall-archivebench

bench-archive: ## measure the Parquet archive: durable writes, compaction, reads of a 1M-event hour (scratch dir ARCHIVE_BENCH_DIR)
	rm -rf $(ARCHIVE_BENCH_DIR) && mkdir -p $(ARCHIVE_BENCH_DIR)
	$(GO) build -o $(ARCHIVE_BENCH_DIR)/archivebench ./pipelines/io/archive/cmd/archivebench
	$(ARCHIVE_BENCH_DIR)/archivebench -dir $(ARCHIVE_BENCH_DIR)/b1000 -phase write -events 1000000 -batch 1000
	$(ARCHIVE_BENCH_DIR)/archivebench -dir $(ARCHIVE_BENCH_DIR)/b5000 -phase write -events 1000000 -batch 5000
	$(ARCHIVE_BENCH_DIR)/archivebench -dir $(ARCHIVE_BENCH_DIR)/b5000 -phase read
	$(ARCHIVE_BENCH_DIR)/archivebench -dir $(ARCHIVE_BENCH_DIR)/b5000 -phase read -merchant m7
	$(ARCHIVE_BENCH_DIR)/archivebench -dir $(ARCHIVE_BENCH_DIR)/b1000 -phase beam
	$(ARCHIVE_BENCH_DIR)/archivebench -dir $(ARCHIVE_BENCH_DIR)/b5000 -phase compact
	$(ARCHIVE_BENCH_DIR)/archivebench -dir $(ARCHIVE_BENCH_DIR)/b5000 -phase read
	$(ARCHIVE_BENCH_DIR)/archivebench -dir $(ARCHIVE_BENCH_DIR)/b5000 -phase read -merchant m7
	rm -rf $(ARCHIVE_BENCH_DIR)

.PHONY: bench-archive
