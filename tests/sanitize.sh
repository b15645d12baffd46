#!/bin/bash
# sanitize.sh -- the `make check-sanitize` driver.
#
# Copies the source tree (without build products, tests/work and .git) to
# tests/work/sanitize/tree, configures it there with
#   -fsanitize=address,undefined -fno-sanitize-recover=all
#   -fno-omit-frame-pointer -g -O1
# builds it (the command and the C unit tests), and runs the copy's test
# driver: every unit test and bats suite runs against the sanitized binaries.
# Sanitizer reports go to log files (log_path), which run-tests.sh checks
# after each unit test and suite: any report is a failure, shown in the TAP
# stream, even where a test only expected "some non-zero exit status".
# The main tree's objects are never touched.  The copy is refreshed on each
# run (file times preserved), so make rebuilds only what changed.
#   SANITIZE_TESTS="raw options"   suites to run (default: all but the
#                                  slow ones listed in SANITIZE_SKIP)
#   SANITIZE_SKIP="progress"       suites left out by default (see below)
#   SANITIZE_WORK=DIR              where the copy goes (default: tests/work/
#                                  sanitize; make sets the build's, which
#                                  may be outside the source tree)
#   SANITIZE_CC=gcc                compiler (default: clang when installed:
#                                  with gcc 12, libubsan ignores log_path
#                                  next to libasan, so a UBSan report would
#                                  only reach the test's captured stderr)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
work=${SANITIZE_WORK:-$top/tests/work/sanitize}
tree=$work/tree
logs=$work/logs
san='-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1'
cc=${SANITIZE_CC:-$(command -v clang >/dev/null && echo clang || sed -n 's/^CC = //p' "$top/lib/Makefile" 2>/dev/null)}
cc=${cc:-cc}
t0=$(date +%s)

mkdir -p "$tree" || exit 1
# Source files only: generated Makefiles/config.h are rebuilt by configure.
( cd "$top" && tar -cf - \
	--exclude=./.git --exclude=./tests/work --exclude=./demo \
	--exclude=./_build --exclude='./e2image-ng-*' \
	--exclude='*.o' --exclude='*.a' --exclude='*.so' \
	--exclude=./Makefile --exclude='./*/Makefile' \
	--exclude=./config.h --exclude=./config.log --exclude=./config.status \
	--exclude=./e2image/e2image --exclude='./tests/unit/test_*[!.][!c]' \
	. ) | ( cd "$tree" && tar -xpf - ) || exit 1
# Unit test sources that vanished from the main tree go from the copy too.
for f in "$tree"/tests/unit/test_*.c; do
	[ -e "$f" ] || continue
	[ -e "$top/tests/unit/${f##*/}" ] || rm -f "$f" "${f%.c}"
done

cd "$tree" || exit 1
stamp="$cc $san"
if [ ! -f config.status ] || [ ! -f Makefile ] || [ configure -nt config.status ] ||
   [ "$(cat .sanitize-flags 2>/dev/null)" != "$stamp" ]; then
	echo "# configuring the sanitized tree in $tree"
	./configure -q CC="$cc" CFLAGS="$san" LDFLAGS="$san" > configure.out 2>&1 || {
		cat configure.out; exit 1; }
	make -s clean > /dev/null 2>&1
	printf '%s\n' "$stamp" > .sanitize-flags
fi
# The Makefile.in files may have changed since configure ran.
for m in Makefile.in */Makefile.in; do
	m=${m%.in}
	if [ "$m.in" -nt "$m" ]; then
		./config.status -q "$m" || exit 1
	fi
done
echo "# building with $cc $san"
make -s all > build.out 2>&1 && make -s -C tests all >> build.out 2>&1 || {
	cat build.out; exit 1; }
t1=$(date +%s)
echo "# sanitized build ready in $((t1 - t0)) s"

rm -rf "$logs"
mkdir -p "$logs" || exit 1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logs/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export SANITIZER_LOG_DIR=$logs
# Share the fixture cache with the main tree's `make check`.
export FIXROOT=${FIXROOT:-$top/tests/work/fixtures}
export E2IMAGE=$tree/e2image/e2image TESTS_BUILDDIR=$tree/tests
# Suites left out: bench-like ones that only time things (none is heavy
# today; progress.bats sleeps and is timing-sensitive under ASan).
skip=${SANITIZE_SKIP-}
if [ -z "${SANITIZE_TESTS:-}" ]; then
	sel=""
	for t in tests/*.bats; do
		n=${t##*/}; n=${n%.bats}
		case " $skip " in *" $n "*) continue ;; esac
		sel="$sel $n"
	done
	sel="$sel unit"
else
	sel=$SANITIZE_TESTS
fi
BATS=$(sed -n 's/^BATS = //p' tests/Makefile)
TESTS="$sel" BATS="${BATS:-bats}" ./tests/run-tests.sh
rc=$?
echo "# check-sanitize took $(( $(date +%s) - t0 )) s" >&2
exit $rc
