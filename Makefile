# ecsd build, test and demo entry points. Every target that needs system
# packages calls `deps` first, so a fresh Debian 12 machine (as root) needs
# nothing else.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X github.com/ecsd-project/ecsd/internal/version.Version=$(VERSION) \
             -X github.com/ecsd-project/ecsd/internal/version.Commit=$(COMMIT)
DEB_PKGS  := containerd runc containernetworking-plugins busybox-static docker-registry iptables tini
TEST_TIMEOUT ?= 25m

.PHONY: all build deps test bench demo fuzz vet fmt clean package

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ecsd ./cmd/ecsd
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ecs-local ./cmd/ecs-local

# deps installs only what is missing.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting" >&2; exit 1; }
	$(GO) vet ./...

test: deps vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# Each benchmark prints its ratio against a baseline measured in the same run.
bench: deps
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 20x -timeout 20m ./runtime/
	$(GO) test -count=1 -run '^$$' -bench Burst100 -benchtime 3x -timeout 20m ./agent/engine/
	$(GO) test -count=1 -run '^$$' -bench LogThroughput -benchtime 5x -timeout 10m ./runtime/logs/
	$(GO) test -count=1 -run '^$$' -bench RunTaskToRunning -benchtime 200x -timeout 30m ./internal/e2e/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzContainerSpec -fuzztime 60s ./agent/engine/
	$(GO) test -run '^$$' -fuzz FuzzDecodePayload -fuzztime 60s ./agent/task/
	$(GO) test -run '^$$' -fuzz FuzzDecodeFrame -fuzztime 60s ./agent/acs/
	$(GO) test -run '^$$' -fuzz FuzzDecodeTask -fuzztime 60s ./agent/store/
	$(GO) test -run '^$$' -fuzz FuzzParseConfigFile -fuzztime 60s ./agent/config/
	$(GO) test -run '^$$' -fuzz FuzzParseResponse -fuzztime 60s ./ssm/
	$(GO) test -run '^$$' -fuzz FuzzParseFrame -fuzztime 60s ./controlplane/tcsserver/
	$(GO) test -run '^$$' -fuzz FuzzECSRequest -fuzztime 60s ./controlplane/
	$(GO) test -run '^$$' -fuzz FuzzSSMRequest -fuzztime 60s ./controlplane/ssmserver/

# make demo KEEP=1 leaves ecs-local and ecsd running afterwards.
demo: deps build
	./scripts/demo.sh $(if $(KEEP),--keep)

# package builds dist/ecsd_<version>_<arch>.deb and .rpm from bin/ecsd.
package: build
	$(GO) run ./packaging/mkpkg --version '$(VERSION)' --arch $$($(GO) env GOARCH) --binary bin/ecsd --packaging packaging --out dist

clean:
	rm -rf bin
