# Lambda builds, included by the top-level Makefile; run make from the repository root.
#
# `sam build` (template.yaml: BuildMethod makefile, CodeUri .) calls build-ApiFunction and
# build-ProcessorFunction with ARTIFACTS_DIR set; `make lambda` builds the same binaries into
# $(DIST)/api.zip and $(DIST)/processor.zip without SAM, e.g. for `aws lambda update-function-code`.

DIST ?= dist
API_PKG ?= ./api/cmd/medicpx-api
PROCESSOR_PKG ?= ./processor/cmd/medicpx-processor
GO ?= go

# provided.al2023 on Graviton: a static binary named bootstrap; lambda.norpc drops the legacy
# go1.x RPC server, which provided.* runtimes never use; nodynamic keeps gen2brain/heic and
# gen2brain/avif from linking purego (their fallback to a system libheif/libavif, which we never
# call), which would make the binary dynamically linked even with CGO_ENABLED=0.
LAMBDA_GO_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc,nodynamic -trimpath -ldflags "-s -w"

# One file, executable, fixed timestamp: Lambda needs the exec bit, and identical builds give
# identical zips (so `sam deploy` and `update-function-code` see no change when there is none).
LAMBDA_ZIP = python3 -c 'import sys, zipfile; src, dst = sys.argv[1:]; info = zipfile.ZipInfo("bootstrap", (1980, 1, 1, 0, 0, 0)); info.external_attr = 0o100755 << 16; info.compress_type = zipfile.ZIP_DEFLATED; z = zipfile.ZipFile(dst, "w"); z.writestr(info, open(src, "rb").read()); z.close()'

.PHONY: build-ApiFunction build-ProcessorFunction lambda

build-ApiFunction:
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: sam build sets it, or use make lambda))
	$(LAMBDA_GO_BUILD) -o "$(ARTIFACTS_DIR)/bootstrap" $(API_PKG)

build-ProcessorFunction:
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: sam build sets it, or use make lambda))
	$(LAMBDA_GO_BUILD) -o "$(ARTIFACTS_DIR)/bootstrap" $(PROCESSOR_PKG)

lambda:
	rm -rf "$(DIST)/.lambda" "$(DIST)/api.zip" "$(DIST)/processor.zip"
	mkdir -p "$(DIST)/.lambda/api" "$(DIST)/.lambda/processor"
	$(LAMBDA_GO_BUILD) -o "$(DIST)/.lambda/api/bootstrap" $(API_PKG)
	$(LAMBDA_GO_BUILD) -o "$(DIST)/.lambda/processor/bootstrap" $(PROCESSOR_PKG)
	$(LAMBDA_ZIP) "$(DIST)/.lambda/api/bootstrap" "$(DIST)/api.zip"
	$(LAMBDA_ZIP) "$(DIST)/.lambda/processor/bootstrap" "$(DIST)/processor.zip"
	rm -rf "$(DIST)/.lambda"
	@echo "built $(DIST)/api.zip $(DIST)/processor.zip (linux/arm64, provided.al2023)"
