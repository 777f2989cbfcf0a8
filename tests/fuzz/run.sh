#!/bin/sh
# run.sh - build every libFuzzer target into build/fuzz/ and run each for a
# bounded time.
#
#   tests/fuzz/run.sh [seconds-per-target] [target ...]
#
# Seconds default to 20; targets default to all.  Seeds come from
# tests/fuzz/corpus/<target>/ (read only); inputs the fuzzer finds go to
# build/fuzz/corpus/<target>/ and crashes to build/fuzz/artifacts/.  Exits
# non-zero if any target fails to build or finds a crash, leak or timeout.
#
# Flag and source lists below are split into words on purpose:
# shellcheck disable=SC2086
set -eu
cd "$(dirname "$0")/../.."

SECS=${1:-20}
[ $# -gt 0 ] && shift
TARGETS=${*:-fuzz_query fuzz_json_body fuzz_decimal fuzz_token fuzz_symbol fuzz_feed fuzz_jsonr fuzz_stream_msg fuzz_statement fuzz_trace fuzz_fcgi}
OUT=build/fuzz
CC=${FUZZ_CC:-clang}
# The libraries' flags come from the build's one place for them (the
# Makefile makes build/pkg.mk after installing the packages).
make -s build/pkg.mk
pkg() { sed -n "s/^$1 := //p" build/pkg.mk; }
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers
        -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
        $(pkg PKG_CFLAGS)"
LIBS="$(pkg PKG_LIBS) -lm"

# The code under test for each target, and the longest input worth trying.
sources() {
    case $1 in
    fuzz_query | fuzz_json_body)
        echo src/api/request.c src/core/arena.c src/core/buf.c src/core/jsonw.c src/core/errors.c src/core/utf8.c src/core/trace.c src/core/random.c \
            src/core/clock.c src/core/log.c src/domain/decimal.c ;;
    fuzz_decimal) echo src/domain/decimal.c ;;
    fuzz_symbol) echo src/domain/symbol.c ;;
    fuzz_statement) echo src/domain/statement.c src/domain/symbol.c src/domain/decimal.c ;;
    fuzz_feed) echo src/ws/feed*.c src/core/jsonr.c src/core/utf8.c src/domain/symbol.c \
        src/domain/decimal.c src/core/clock.c ;;
    fuzz_jsonr) echo src/core/jsonr.c src/core/utf8.c ;;
    fuzz_token) echo src/core/token.c ;;
    fuzz_trace) echo src/core/trace.c ;;
    fuzz_fcgi) echo src/core/fcgi.c src/core/arena.c src/core/buf.c ;;
    fuzz_stream_msg) echo src/stream/message.c src/domain/symbol.c src/domain/candle.c \
        src/domain/decimal.c ;;
    *) echo "run.sh: unknown target $1" >&2; exit 2 ;;
    esac
}
max_len() {
    case $1 in
    fuzz_decimal) echo 64 ;;
    fuzz_symbol) echo 48 ;;
    fuzz_trace) echo 128 ;;
    fuzz_token) echo 6000 ;; # past TD_TOKEN_MAX_LEN
    *) echo 8192 ;;
    esac
}

mkdir -p $OUT/artifacts
for t in $TARGETS; do
    echo "build $OUT/$t"
    # shellcheck disable=SC2046
    $CC $CFLAGS -o "$OUT/$t" "tests/fuzz/$t.c" $(sources "$t") $LIBS
done

status=0
for t in $TARGETS; do
    mkdir -p "$OUT/corpus/$t"
    log=$OUT/$t.log
    if "$OUT/$t" -max_total_time="$SECS" -max_len="$(max_len "$t")" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t-" \
        "$OUT/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        echo "ok   $t: $runs runs in ${secs}s ($rate/s), $cov, corpus $(find "$OUT/corpus/$t" -type f | wc -l)"
    else
        echo "FAIL $t: see $log and $OUT/artifacts/"
        grep -E 'ERROR|SUMMARY|runtime error|^    #[0-9]' "$log" | head -30 || true
        status=1
    fi
done
exit $status
