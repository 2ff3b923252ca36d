# Collection from websites (docs/ingest.md, "From websites").

web-test: ## analytics-next and footfall.js in headless Chromium against a local stack, checked in the query API (fails, not skips, without Chromium)
	FOOTFALL_REQUIRE_BROWSER=1 $(GO) test -count=1 -v -run TestWebCollectionInChromium ./testing/browser/

tracker-size: ## the tracker's minified and gzipped size (fails above 2 KB)
	$(GO) test -count=1 -v -run TestTrackerGzipSizeBudget ./ingest/

.PHONY: web-test tracker-size
