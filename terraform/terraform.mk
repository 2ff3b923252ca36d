# Terraform targets, included by the repository's Makefile:
#   include terraform/terraform.mk
# Paths are relative to the repository root.

TF_CHECK ?= ../shared/tools/terraform-check/check

.PHONY: tf-check tf-fmt tf-gen

tf-check: ## Terraform: offline fmt, validate and plan tests of terraform/ against the google provider schemas
	$(TF_CHECK) terraform/

tf-fmt: ## Terraform: format every .tf and .tftest.hcl file under terraform/
	terraform fmt -recursive terraform/

tf-gen: ## Terraform: regenerate the files derived from Go contracts (BigQuery schema, Bigtable families)
	go run ./internal/event/cmd/bqschema > terraform/modules/bigquery/events_schema.json
	go test ./internal/layout -run TestTerraformFamiliesMatchLayout -update
