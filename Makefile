# tradedesk build.  `make` builds bin/; `make run` starts the local stack;
# `make test` runs unit and integration tests; `make asan` builds everything
# with AddressSanitizer + UndefinedBehaviorSanitizer under build/asan/.
#
# Library flags come from build/pkg.mk, which this Makefile makes (installing
# the Debian packages first, src/run/install-deps.sh) before it compiles
# anything: GNU make remakes an included makefile and restarts, so the flags
# are never computed before the libraries exist, under -j too.  The same
# idea as Redis' .make-prerequisites.  TD_NO_INSTALL=1 skips the installer
# (packagers, the Docker build) and only asks pkg-config.

PKGS     := fcgi libpq hiredis json-c libjwt libargon2 libcrypto libwebsockets
B        ?= build/release
BIN      ?= bin
CC       ?= cc
OPT      ?= -O2
SAN      ?=
PKG_MK   := build/pkg.mk

# The domain is built with these alone: libc, no library's flags.
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
               -Wno-missing-field-initializers $(OPT) -g -Isrc $(SAN)

# Goals that need no library flags do not make build/pkg.mk.
NOLIB_GOALS := clean format deps check-includes test-fresh help
ifneq ($(filter-out $(NOLIB_GOALS),$(or $(MAKECMDGOALS),all)),)
include $(PKG_MK)
endif

CFLAGS   := $(BASE_CFLAGS) $(PKG_CFLAGS)
LDLIBS   := $(PKG_LIBS) -lm
TESTLIBS := -lcmocka -lcurl

DOMAIN_SRC := $(sort $(wildcard src/domain/*.c))
CORE_SRC   := $(sort $(wildcard src/core/*.c) $(wildcard src/store/*.c))
API_SRC    := $(filter-out src/api/main.c,$(sort $(wildcard src/api/*.c src/api/handlers/*.c)))
WS_SRC     := $(sort $(wildcard src/ws/*.c))
ENGINE_SRC := $(filter-out src/engine/main.c,$(sort $(wildcard src/engine/*.c src/engine/feeds/*.c)))
STREAM_SRC := $(filter-out src/stream/main.c,$(sort $(wildcard src/stream/*.c)))
CLI_SRC    := $(sort $(wildcard src/cli/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
DUNIT_SRC  := $(sort $(wildcard tests/unit/domain/test_*.c))
ITEST_SRC  := $(sort $(wildcard tests/integration/test_*.c))
ITEST_LIB  := $(filter-out $(ITEST_SRC),$(sort $(wildcard tests/integration/*.c)))

obj = $(patsubst %.c,$(B)/%.o,$(1))
DOMAIN_OBJ := $(call obj,$(DOMAIN_SRC))
CORE_OBJ   := $(call obj,$(CORE_SRC)) $(DOMAIN_OBJ)
API_OBJ    := $(call obj,$(API_SRC))
WS_OBJ     := $(call obj,$(WS_SRC))
ENGINE_OBJ := $(call obj,$(ENGINE_SRC))
STREAM_OBJ := $(call obj,$(STREAM_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
DUNIT_BIN  := $(patsubst tests/unit/domain/%.c,$(B)/tests/domain/%,$(DUNIT_SRC))
ITEST_BIN  := $(patsubst tests/integration/%.c,$(B)/tests/%,$(ITEST_SRC))

.PHONY: all run test unit integration contract asan test-asan deps clean format \
        check-includes check-settings test-fresh nginx-errors
all: $(BIN)/tradedesk-api $(BIN)/tradedesk $(BIN)/tradedesk-engine $(BIN)/tradedesk-stream

$(PKG_MK): Makefile src/run/install-deps.sh
	@mkdir -p $(dir $@)
	@[ -n "$(TD_NO_INSTALL)" ] || src/run/install-deps.sh
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))" && \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; } >$@.tmp || \
	 { rm -f $@.tmp; echo "make: pkg-config cannot find $(PKGS); run src/run/install-deps.sh" >&2; exit 1; }
	@mv $@.tmp $@

$(BIN)/tradedesk-api: $(call obj,src/api/main.c) $(API_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

$(BIN)/tradedesk-engine: $(call obj,src/engine/main.c) $(ENGINE_OBJ) $(WS_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

# The stream's loop is libev's (lws' event lib); libev ships no .pc file.
$(BIN)/tradedesk-stream: $(call obj,src/stream/main.c) $(STREAM_OBJ) $(WS_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS) -lev

$(BIN)/tradedesk: $(call obj,$(CLI_SRC)) $(WS_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

# Test binaries need the test packages (cmocka, libcurl); installed once.
TEST_DEPS := build/test-deps.stamp
$(TEST_DEPS): src/run/install-deps.sh
	@mkdir -p $(dir $@)
	@[ -n "$(TD_NO_INSTALL)" ] || src/run/install-deps.sh test
	@touch $@

$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(API_OBJ) $(ENGINE_OBJ) $(STREAM_OBJ) $(WS_OBJ) $(CORE_OBJ) | $(TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS) $(TESTLIBS)

# Domain tests link the domain alone and no library but the test framework.
$(B)/tests/domain/test_%: $(B)/tests/unit/domain/test_%.o $(DOMAIN_OBJ) | $(TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ -lcmocka

$(ITEST_BIN): $(B)/tests/%: $(B)/tests/integration/%.o $(call obj,$(ITEST_LIB)) $(CORE_OBJ) | $(TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS) $(TESTLIBS)

$(B)/tests/unit/%.o: tests/unit/%.c | $(TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/unit/domain/%.o: tests/unit/domain/%.c | $(TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/integration/%.o: tests/integration/%.c | $(TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/src/domain/%.o: src/domain/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -MMD -MP -c $< -o $@

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(B) -name '*.d' 2>/dev/null)

deps:
	src/run/install-deps.sh
	src/run/install-deps.sh test

run: all
	src/run/run.sh

unit: $(DUNIT_BIN) $(UNIT_BIN)
	@set -e; for t in $(DUNIT_BIN) $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all $(ITEST_BIN) node_modules
	TD_BIN=$(abspath $(BIN)) tests/integration/run.sh $(ITEST_BIN)

# OpenAPI and AsyncAPI lint, the contract validators' self-test and
# openapi.yaml's error codes against src/core/errors.h (npm packages pinned
# in package-lock.json).
contract: node_modules $(BIN)/tradedesk-api
	TD_BIN=$(abspath $(BIN)) tests/contract/run.sh

node_modules: package.json package-lock.json | $(TEST_DEPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch node_modules

# Which folder may include which (docs/architecture.md).
check-includes:
	tests/check-includes.sh
	tests/check-includes-selftest.sh

# README.md's configuration table against the settings table (src/core/config.c).
check-settings: $(BIN)/tradedesk
	tests/check-settings.sh $(BIN) README.md

test: all
	$(MAKE) check-includes
	$(MAKE) check-settings
	$(MAKE) unit
	$(MAKE) contract
	$(MAKE) integration

# `make run` on a minimal Debian 12 root (debootstrap), as a new user would.
test-fresh:
	tests/fresh/run.sh

# Sanitizer build: separate objects, same sources.
ASAN_VARS := B=build/asan BIN=build/asan/bin CC=clang OPT=-O1 \
             SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
asan:
	$(MAKE) $(ASAN_VARS) all $(patsubst $(B)/%,build/asan/%,$(DUNIT_BIN) $(UNIT_BIN) $(ITEST_BIN))

# Unit tests, then the whole integration suite against sanitized programs,
# then every fuzz target for a few seconds (so none of them rots unbuilt;
# tests/fuzz/run.sh SECONDS for a real session).
test-asan: $(TEST_DEPS)
	$(MAKE) $(ASAN_VARS) unit
	$(MAKE) $(ASAN_VARS) integration
	tests/fuzz/run.sh $(FUZZ_SECONDS)

FUZZ_SECONDS ?= 5

# nginx/errors.conf is printed from src/core/errors.h and committed (both
# nginx configs include it); tests/unit/test_errors.c fails until it is
# regenerated after a change to the table.
nginx-errors: $(BIN)/tradedesk-api
	$(BIN)/tradedesk-api --print-nginx-errors >nginx/errors.conf.tmp
	mv nginx/errors.conf.tmp nginx/errors.conf

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin
