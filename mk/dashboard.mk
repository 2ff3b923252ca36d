# Merchant dashboard (queryapi/dashboard; docs/dashboard.md).
DASHBOARD_DIR := queryapi/dashboard
UPLOT_DIST := $(DASHBOARD_DIR)/node_modules/uplot/dist

dashboard-assets: ## refresh the vendored chart library (uPlot) from npm, the version queryapi/dashboard/package-lock.json pins
	cd $(DASHBOARD_DIR) && npm ci --no-audit --no-fund
	cp $(UPLOT_DIST)/uPlot.iife.min.js $(UPLOT_DIST)/uPlot.min.css $(DASHBOARD_DIR)/static/vendor/
	cp $(DASHBOARD_DIR)/node_modules/uplot/LICENSE $(DASHBOARD_DIR)/static/vendor/uPlot.LICENSE

dashboard-test: ## the dashboard in headless Chromium against a local stack (fails, not skips, without Chromium; ~30 s)
	FOOTFALL_CI=1 $(GO) test -count=1 -v ./testing/browser/

dashboard-screenshot: ## run the browser test and save its screenshots as docs/dashboard.png and docs/dashboard-narrow.png
	FOOTFALL_CI=1 FOOTFALL_DASHBOARD_SCREENSHOT=$(CURDIR)/docs/dashboard.png $(GO) test -count=1 ./testing/browser/

.PHONY: dashboard-assets dashboard-test dashboard-screenshot
