# pgmask — see README.md. Every target works on a fresh clone with Go and the
# PostgreSQL server binaries installed (apt-get install postgresql).

GO        ?= go
BENCH_SECONDS ?= 20

.PHONY: all build test demo bench clean

all: build

build:
	$(GO) build -o bin/pgmask ./cmd/pgmask

# The README's test command. Integration tests start their own throwaway PostgreSQL.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

# Starts a throwaway PostgreSQL with the synthetic clinic data and pgmask on
# 127.0.0.1:6432, prints a psql command per demo user; Ctrl-C cleans up.
demo:
	$(GO) run ./cmd/pgmask demo

# pgbench -S directly and through pgmask, interleaved, in simple/extended/prepared modes.
bench:
	$(GO) run ./integration/bench -seconds $(BENCH_SECONDS)

clean:
	rm -rf bin
