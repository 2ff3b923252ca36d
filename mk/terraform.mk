# Terraform (terraform/; docs/deploy.md). Paths are relative to the
# repository root.
#
# tf-check needs ../shared/tools/terraform-check (the offline provider
# schemas). A clone without ../shared skips it with a notice; CI
# (FOOTFALL_CI=1) fails instead, so the check can never be skipped there.

TF_CHECK ?= ../shared/tools/terraform-check/check

.PHONY: tf-check tf-fmt tf-gen

tf-check: ## Terraform: offline fmt, validate and plan tests of terraform/ against the google provider schemas
	@if [ -x "$(TF_CHECK)" ]; then \
		$(TF_CHECK) terraform/; \
	elif [ -n "$(FOOTFALL_CI)" ]; then \
		echo "tf-check: $(TF_CHECK) is missing and FOOTFALL_CI is set: CI must run the Terraform check (clone ../shared beside the repository)" >&2; exit 1; \
	else \
		echo "tf-check: skipped, $(TF_CHECK) not found (clone ../shared beside the repository to run it; CI requires it)"; \
	fi

tf-fmt: ## Terraform: format every .tf and .tftest.hcl file under terraform/
	terraform fmt -recursive terraform/

tf-gen: ## Terraform: regenerate the files derived from Go contracts (BigQuery schemas, Bigtable families)
	$(GO) run ./internal/event/cmd/bqschema > terraform/modules/bigquery/events_schema.json
	$(GO) test ./pipelines/io/bqarchive -run TestTerraformSideTableSchemas -update
	$(GO) test ./internal/layout -run TestTerraformFamiliesMatchLayout -update
