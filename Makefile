# tradedesk build.  `make` builds bin/; `make run` starts the local stack;
# `make test` runs unit and integration tests; `make asan` builds everything
# with AddressSanitizer + UndefinedBehaviorSanitizer under build/asan/.

PKGS     := fcgi libpq hiredis json-c libjwt libargon2 libcrypto
B        ?= build/release
BIN      ?= bin
CC       ?= cc
OPT      ?= -O2
SAN      ?=
CFLAGS   := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
            $(OPT) -g -Isrc $(SAN) $(shell pkg-config --cflags $(PKGS))
LDLIBS   := $(shell pkg-config --libs $(PKGS)) -lm
TESTLIBS := $(shell pkg-config --libs cmocka) -lcurl

CORE_SRC  := $(sort $(wildcard src/core/*.c))
API_SRC   := $(filter-out src/api/main.c,$(sort $(wildcard src/api/*.c)))
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
ITEST_SRC := $(sort $(wildcard tests/integration/test_*.c))
ITEST_LIB := $(filter-out $(ITEST_SRC),$(sort $(wildcard tests/integration/*.c)))

obj = $(patsubst %.c,$(B)/%.o,$(1))
CORE_OBJ := $(call obj,$(CORE_SRC))
API_OBJ  := $(call obj,$(API_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
ITEST_BIN := $(patsubst tests/integration/%.c,$(B)/tests/%,$(ITEST_SRC))

.PHONY: all run test unit integration contract asan test-asan deps clean format
all: $(BIN)/tradedesk-api $(BIN)/tradedesk

$(BIN)/tradedesk-api: $(call obj,src/api/main.c) $(API_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

$(BIN)/tradedesk: $(call obj,$(CLI_SRC)) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(API_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS) $(TESTLIBS)

$(ITEST_BIN): $(B)/tests/%: $(B)/tests/integration/%.o $(call obj,$(ITEST_LIB)) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS) $(TESTLIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(B) -name '*.d' 2>/dev/null)

deps:
	src/run/install-deps.sh

run: deps all
	src/run/run.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all $(ITEST_BIN) node_modules
	TD_BIN=$(abspath $(BIN)) tests/integration/run.sh $(ITEST_BIN)

# OpenAPI lint and the contract validator's self-test (npm packages pinned in
# package-lock.json).
contract:
	tests/contract/run.sh

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch node_modules

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) contract
	$(MAKE) integration

# Sanitizer build: separate objects, same sources.
ASAN_VARS := B=build/asan BIN=build/asan/bin CC=clang OPT=-O1 \
             SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
asan:
	$(MAKE) $(ASAN_VARS) all $(patsubst $(B)/%,build/asan/%,$(UNIT_BIN) $(ITEST_BIN))

# Unit tests, then the whole integration suite against sanitized programs.
test-asan: deps
	$(MAKE) $(ASAN_VARS) unit
	$(MAKE) $(ASAN_VARS) integration

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin
