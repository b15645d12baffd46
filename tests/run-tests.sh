#!/bin/bash
# run-tests.sh -- the `make check` driver.  Runs every executable C unit test
# in unit/ (TAP on stdout, non-zero exit on failure) and every *.bats suite
# with `bats --tap`, shows all TAP output, and ends with one line
# "N passed, N failed[, N skipped]".  Exits non-zero if anything failed or
# if no test ran.
#   TESTS="raw options"   run only these suites (bats basenames and/or
#                         unit test names; "unit" selects all unit tests)
#   BATS=/path/to/bats    bats to use (default: bats from PATH)
#   TESTS_BUILDDIR=DIR    where the unit tests were built (default: here;
#                         make check sets it, see common.bash)
#   SANITIZER_LOG_DIR=DIR where ASan/UBSan write their reports (log_path);
#                         any report found after a unit test or a suite is
#                         shown and counted as a failure (make check-sanitize)
cd "$(dirname "$0")" || exit 1
BATS=${BATS:-bats}
[ -n "$BATS" ] || BATS=bats

pass=0 fail=0 skip=0 ran=0
rcfile=$(mktemp)
trap 'rm -f "$rcfile"' EXIT

selected() {
	[ -z "${TESTS:-}" ] && return 0
	local t
	for t in $TESTS; do
		[ "$t" = "$1" ] && return 0
		[ "$t" = "$2" ] && return 0
	done
	return 1
}

# count TAP lines read on stdin, echoing them
count_tap() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"not ok "*)
			fail=$((fail + 1)) ;;
		"ok "*" # skip"*|"ok "*" # SKIP"*)
			skip=$((skip + 1)) ;;
		"ok "*)
			pass=$((pass + 1)) ;;
		esac
	done
}

# sanitizer_reports WHAT: fail once per new sanitizer report in
# $SANITIZER_LOG_DIR, showing it; reports are moved to DIR/seen.
sanitizer_reports() {
	local f
	[ -n "${SANITIZER_LOG_DIR:-}" ] && [ -d "$SANITIZER_LOG_DIR" ] || return 0
	for f in "$SANITIZER_LOG_DIR"/*; do
		[ -f "$f" ] || continue
		echo "not ok - sanitizer report during $1: ${f##*/}"
		sed 's/^/# /' "$f"
		fail=$((fail + 1))
		mkdir -p "$SANITIZER_LOG_DIR/seen"
		mv "$f" "$SANITIZER_LOG_DIR/seen/"
	done
}

for t in "${TESTS_BUILDDIR:-.}"/unit/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case $t in *.c|*.o|*.h) continue ;; esac
	name=${t##*/}
	selected "$name" unit || continue
	echo "# unit: $name"
	ran=$((ran + 1))
	before=$fail
	count_tap < <("$t" 2>&1; echo $? > "$rcfile")
	rc=$(cat "$rcfile")
	# a non-zero exit with no "not ok" line is still a failure
	if [ "$rc" != 0 ] && [ "$fail" = "$before" ]; then
		echo "not ok - unit test $name exited with status $rc"
		fail=$((fail + 1))
	fi
	sanitizer_reports "unit test $name"
done

for t in *.bats; do
	[ -f "$t" ] || continue
	name=${t%.bats}
	selected "$name" bats || continue
	echo "# bats: $t"
	ran=$((ran + 1))
	before=$((pass + fail + skip))
	beforefail=$fail
	count_tap < <("$BATS" --tap "$t" 2>&1; echo $? > "$rcfile")
	rc=$(cat "$rcfile")
	if [ $((pass + fail + skip)) = "$before" ]; then
		echo "not ok - $t ran no test (bats exit status $rc)"
		fail=$((fail + 1))
	elif [ "$rc" != 0 ] && [ "$fail" = "$beforefail" ]; then
		echo "not ok - $t: bats exited with status $rc"
		fail=$((fail + 1))
	fi
	sanitizer_reports "$t"
done

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ] && [ $((pass + skip)) -gt 0 ]
