# medicpx patient images. The two commands: `make run` and `make test`.
# Everything they need is installed here, into .tools/ (git-ignored).

SHELL := /bin/bash
TOOLS := $(CURDIR)/.tools
BIN := $(TOOLS)/bin
LOCAL_BIN := $(CURDIR)/.local/bin

VERSITYGW_VERSION := v1.8.0
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
AXIOS_VERSION := 1.21.1
AXE_VERSION := 4.14.1

# Tests and the local stack find the tools through these.
export VERSITYGW := $(BIN)/versitygw
export AWS_LAMBDA_RIE := $(BIN)/aws-lambda-rie
export NODE_PATH := $(TOOLS)/node/node_modules

ROLE ?= professor

# The JPEG decoder, whose inverse transforms have amd64 and arm64 assembly (see README).
JPEGSCALE := ./processor/pipeline/internal/jpegscale/
# The thumbnail resampler's pass across, which has them too; with the decoder, the packages whose
# tests run also for arm64 under qemu and with -tags purego, beside simd, which chooses for both.
RESAMPLE := ./processor/pipeline/internal/resample/
# The thumbnail encoder, whose forward transform has them too.
JPEGENC := ./processor/pipeline/internal/jpegenc/
ASMPKGS := $(JPEGSCALE) $(RESAMPLE) $(JPEGENC) ./processor/pipeline/internal/simd/

.PHONY: run test bench token tools build clean chromium lcms heif qemu smoke benchpeers burst soak

## run: start the local stack (S3 + processor + API) until Ctrl-C (or SIGTERM to any of its processes)
# The launcher is built and exec'd, not `go run`: make's child is then the launcher itself, which
# gets make's SIGTERM (`go run` would die without passing it on and leave the stack running).
run: tools build
	@go build -o "$(LOCAL_BIN)/" ./infra/cmd/medicpx-local
	@exec "$(LOCAL_BIN)/medicpx-local" -bin "$(LOCAL_BIN)"

## token: print a token for ROLE (professor, student, admin), signed with the local stack's secret
token:
	@go run ./infra/cmd/medicpx-local token -role "$(ROLE)"

## smoke: the guide's whole flow against a deployment, then cleans up:
##   make smoke API_URL=https://… PROFESSOR_TOKEN=… STUDENT_TOKEN=…
## Without API_URL it checks `make run` (API_ADDR, default 127.0.0.1:8080) with the local tokens.
smoke: chromium
	@go run ./infra/cmd/medicpx-smoke

## test: every test, against real versitygw, aws-lambda-rie, Node and Chromium; the JPEG
##   decoder's and the resampler's assembly also as Lambda runs it (arm64, under qemu-aarch64)
##   and without it (purego)
test: tools qemu
	go vet ./...
	go test -count=1 -timeout 30m ./...
	go test -count=1 -tags devlogin -run 'TestDevLogin' ./api/web/
	go test -count=1 -tags purego $(ASMPKGS)
	GOARCH=arm64 go vet $(ASMPKGS)
	GOARCH=arm64 go test -exec qemu-aarch64-static -count=1 -timeout 20m $(ASMPKGS)

## burst: upload-to-ready latency on the stack of `make run` (running in another terminal):
##   200 phone-sized JPEGs uploaded at once, then single uploads (infra/burst), with the stack's
##   CPU by process. `make burst BURST_FLAGS=-mixed`: 300 uploads of 0.2–8 MB, 10 invalid, from
##   32 parallel clients, until all are final: images/s
BURST_FLAGS ?=
burst:
	@go run ./infra/cmd/medicpx-burst $(BURST_FLAGS)

## soak: steady mixed traffic on the stack of `make run` (running in another terminal) for
##   SOAK_DURATION (default 30m), with every process's RSS every 30 s and whether the API's
##   levelled off (infra/soak): make soak SOAK_DURATION=5m
SOAK_DURATION ?= 30m
soak:
	@go run ./infra/cmd/medicpx-soak -duration "$(SOAK_DURATION)"

## bench: benchmarks, each beside its baseline in the same run (see README)
bench: tools benchpeers
	sh infra/samples.sh > /dev/null
	go test -run '^$$' -bench '^Benchmark(API|AbandonedUploadURLs)$$' -benchmem -benchtime 2000x ./api/
	go test -run '^$$' -bench '^BenchmarkRouteLatency$$' -benchtime 40x ./api/
	go test -run '^$$' -bench . -benchmem -benchtime 1x ./processor/pipeline/
	go test -run '^$$' -bench '^BenchmarkDecodePhone$$' -benchtime 5x $(JPEGSCALE)
	go test -run '^$$' -bench '^BenchmarkRows$$' -benchtime 2000x $(RESAMPLE)
	go test -run '^$$' -bench . -benchmem ./processor/metastrip/

build:
	@mkdir -p "$(LOCAL_BIN)"
	go build -tags devlogin -o "$(LOCAL_BIN)/" ./api/cmd/medicpx-api
	go build -o "$(LOCAL_BIN)/" ./processor/cmd/medicpx-processor

tools: $(BIN)/versitygw $(BIN)/aws-lambda-rie $(NODE_PATH)/axios/package.json $(NODE_PATH)/axe-core/.v$(AXE_VERSION) chromium lcms heif

$(BIN)/versitygw:
	@echo "installing versitygw $(VERSITYGW_VERSION) (a few minutes the first time)"
	GOBIN=$(BIN) go install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

$(BIN)/aws-lambda-rie:
	GOBIN=$(BIN) go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

$(NODE_PATH)/axios/package.json:
	npm install --silent --no-audit --no-fund --prefix "$(TOOLS)/node" axios@$(AXIOS_VERSION)

# axe-core runs inside the browser test (WCAG 2.1 A/AA checks of every page). The marker file
# names the pinned version, so changing AXE_VERSION installs again.
$(NODE_PATH)/axe-core/.v$(AXE_VERSION):
	npm install --silent --no-audit --no-fund --prefix "$(TOOLS)/node" axe-core@$(AXE_VERSION)
	touch "$@"

# Browser tests drive Debian's Chromium (with a Korean font, or the pages' text renders as boxes in
# screenshots). Installed when missing and we are root; otherwise the
# browser tests fail loudly (they never pass without a browser).
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/nanum ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing chromium and a Korean font (Debian)"; \
			(apt-get install -y -qq chromium fonts-nanum >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium fonts-nanum)); \
		else \
			echo "WARNING: /usr/bin/chromium is missing and this is not root: the browser tests will FAIL (not skip)." >&2; \
		fi; \
	fi

# Little CMS's jpgicc (Debian's liblcms2-utils): the ICC test converts real photos with the profile
# as uploaded and as stored and compares the bytes. Installed when missing and we are root;
# otherwise that test fails (it never passes without running).
lcms:
	@if ! command -v jpgicc >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing liblcms2-utils (Debian)"; \
			(apt-get install -y -qq liblcms2-utils >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq liblcms2-utils)); \
		else \
			echo "WARNING: jpgicc is missing and this is not root: TestICCLittleCMS will FAIL (not skip)." >&2; \
		fi; \
	fi

# The HEIC tests' reference decoder (heif-convert, libheif's own) and metadata reader (exiftool):
# without them those tests FAIL, not skip, when ../shared/samples/heic is there.
heif:
	@if ! command -v heif-convert >/dev/null || ! command -v exiftool >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing libheif-examples, libimage-exiftool-perl (Debian)"; \
			(apt-get install -y -qq libheif-examples libimage-exiftool-perl >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq libheif-examples libimage-exiftool-perl)); \
		else \
			echo "WARNING: heif-convert or exiftool is missing and this is not root: the HEIC sample tests will FAIL (not skip)." >&2; \
		fi; \
	fi

# qemu-aarch64-static (Debian's qemu-user-static) runs the JPEG decoder's and the resampler's
# tests built for arm64, the Lambda's architecture, so their NEON assembly is tested against pure
# Go on this machine too.
# Installed when missing and we are root; otherwise that step of `make test` fails (never skips).
qemu:
	@if ! command -v qemu-aarch64-static >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing qemu-user-static (Debian)"; \
			(apt-get install -y -qq qemu-user-static >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq qemu-user-static)); \
		else \
			echo "WARNING: qemu-aarch64-static is missing and this is not root: the arm64 tests of the JPEG decoder and the resampler will FAIL (not skip)." >&2; \
		fi; \
	fi

# The processor's peers in the pipeline benchmark: Pillow (Debian's python3-pil, run by
# infra/bench/pillow_thumbnails.py), libvips (vipsthumbnail) and, beside the JPEG decoder alone,
# libjpeg-turbo's tjbench (libjpeg-turbo-progs). Installed when missing and we are root;
# otherwise the benchmark prints their rows as NOT MEASURED.
benchpeers:
	@if ! /usr/bin/python3 -c 'import PIL' 2>/dev/null || ! command -v vipsthumbnail >/dev/null || ! command -v tjbench >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing the benchmark's peers: python3-pil, libvips-tools, libjpeg-turbo-progs (Debian)"; \
			(apt-get install -y -qq python3-pil libvips-tools libjpeg-turbo-progs >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-pil libvips-tools libjpeg-turbo-progs)); \
		else \
			echo "WARNING: python3-pil, libvips-tools or libjpeg-turbo-progs is missing and this is not root: their benchmark rows say NOT MEASURED." >&2; \
		fi; \
	fi

clean:
	rm -rf .local/bin dist

-include infra/deploy.mk
