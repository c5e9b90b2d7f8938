# The README's commands; CI runs `make test` through .ci/run.
GO ?= go
BIN := bin

.PHONY: build demo test unit clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w" -o $(BIN)/barman-cloud ./cmd/barman-cloud
	# One symlink per tool, from the tool list itself (tools/all).
	for t in $$($(GO) run ./cmd/gendocs -list | grep -vx barman-cloud); do ln -sf barman-cloud $(BIN)/$$t; done

# Archive a real WAL segment into a file:// store and show where it landed.
demo: build
	scripts/demo.sh

# Everything: unit, CLI, integration, compatibility and end-to-end tests
# (installs and starts the servers and tools they need).
test:
	scripts/test.sh

# Only the tests that need no server.
unit:
	$(GO) vet ./...
	$(GO) test ./...

clean:
	rm -rf $(BIN)
