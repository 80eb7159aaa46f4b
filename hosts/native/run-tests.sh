#!/bin/sh
# hosts/native/run-tests.sh: the native transports' checks, for the test
# runner. Runs `make test` (Linux tests, plain and with
# -fsanitize=address,undefined) and `make xtensa-check`, plus
# `make binding-check` when MODDABLE points to a Moddable SDK checkout.
# Prints one count line per part and the total as the last line:
# "N passed, N failed". Exits non-zero on any failure, and with status 2
# and the install command when the Debian packages are missing.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PACKAGES="liblwip-dev gcc-xtensa-lx106 picolibc-xtensa-lx106-elf pkg-config"

missing=""
command -v cc >/dev/null 2>&1 || missing="$missing cc (build-essential)"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
if ! pkg-config --exists lwip 2>/dev/null && [ ! -f /usr/include/lwip/lwip/tcp.h ]; then
	missing="$missing liblwip-dev"
fi
command -v xtensa-lx106-elf-gcc >/dev/null 2>&1 || missing="$missing gcc-xtensa-lx106"
[ -f /usr/lib/xtensa-lx106-elf/picolibc.specs ] || missing="$missing picolibc-xtensa-lx106-elf"
if [ -n "$missing" ]; then
	echo "hosts/native: missing:$missing"
	echo "install with: apt-get update && apt-get install -y $PACKAGES"
	echo "(mosquitto is optional: without it the two broker tests are skipped)"
	echo "0 passed, 1 failed"
	exit 2
fi

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# count NAME LINE: adds "N passed, M failed" from LINE to the totals.
count() {
	p=$(echo "$2" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
	f=$(echo "$2" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		echo "$1: no result line (build or crash); see the output above"
		failed=$((failed + 1))
		return
	fi
	echo "$1: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
}

make -C "$HERE" --no-print-directory test-build >"$log" 2>&1 || { cat "$log"; echo "hosts/native: build failed"; }
for binary in native-tests native-tests-asan; do
	if [ -x "$HERE/build/$binary" ]; then
		ASAN_OPTIONS=detect_leaks=1 "$HERE/build/$binary" >"$log" 2>&1
		grep -v '^ok - ' "$log" | grep -v 'passed, .* failed$'
		count "$binary" "$(tail -n 1 "$log")"
	else
		count "$binary" ""
	fi
done

if make -C "$HERE" --no-print-directory xtensa-check >"$log" 2>&1; then
	grep -E '^xtensa-check|sizeof|  code' "$log"
	count "xtensa-check (esp8266, esp32 options)" "2 passed, 0 failed"
else
	cat "$log"
	count "xtensa-check (esp8266, esp32 options)" "0 passed, 2 failed"
fi

if [ -n "${MODDABLE:-}" ]; then
	if make -C "$HERE" --no-print-directory binding-check MODDABLE="$MODDABLE" >"$log" 2>&1; then
		count "binding-check" "3 passed, 0 failed"
	else
		cat "$log"
		count "binding-check" "0 passed, 3 failed"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
