# common.bash -- loaded by every bats file (`load common`).
#
# TESTS_BUILDDIR  the build's tests directory: the programs make built
#           (fault/) and the scratch work/; default: this directory (make
#           check sets it: a build can be in another directory)
# E2IMAGE   the binary under test (default: the one built in ../e2image)
# ORACLE    e2fsprogs' e2image, the reference behaviour
# FIXROOT   root of the fixture cache shared by all suites (tests/work/fixtures)
# FIXDIR    the cache of the current fixtures/build.sh: FIXROOT/<its sha256>
#           (derived, not settable: a changed build.sh must not be served the
#           images of an older one; directories of older keys are left behind)

TESTS_BUILDDIR=${TESTS_BUILDDIR:-$BATS_TEST_DIRNAME}
E2IMAGE=${E2IMAGE:-$TESTS_BUILDDIR/../e2image/e2image}
ORACLE=${ORACLE:-/usr/sbin/e2image}
FIXROOT=${FIXROOT:-$TESTS_BUILDDIR/work/fixtures}

# content_key FILE...: a cache key for what FILEs build (sha256 of their
# contents, in order, shortened)
content_key() {
	cat "$@" | sha256sum | cut -c1-16
}

FIXDIR=$FIXROOT/$(content_key "$BATS_TEST_DIRNAME/fixtures/build.sh")
export TESTS_BUILDDIR E2IMAGE ORACLE FIXROOT FIXDIR
export LC_ALL=C TZ=UTC
# the manifest's time line: two runs give the same image (manifest.bats
# unsets it where the time is what it tests)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH-1700000000}

# fixture NAME: print the path of fixture NAME, building it if needed.
# Building is serialised with a lock so parallel suites share the cache.
fixture() {
	local name=$1 img=$FIXDIR/$1.img
	if [ ! -s "$img" ]; then
		mkdir -p "$FIXDIR"
		(
			flock 9
			"$BATS_TEST_DIRNAME/fixtures/build.sh" "$name" "$FIXDIR" >&2
		) 9>"$FIXDIR/.lock-$name" || return 1
	fi
	printf '%s\n' "$img"
}

# fixtures: the names of all fixtures (honours FIXTURES="a b" to restrict)
fixtures() {
	if [ -n "${FIXTURES:-}" ]; then
		printf '%s\n' $FIXTURES
	else
		"$BATS_TEST_DIRNAME/fixtures/list"
	fi
}

# each_fixture FUNC: run FUNC FIXTURE for every fixture (in a subshell),
# name the ones that failed, fail if any did
each_fixture() {
	local f failed=""
	for f in $(fixtures); do
		( "$1" "$f" ) || failed="$failed $f"
	done
	[ -z "$failed" ] || { echo "failed on:$failed" >&2; return 1; }
}

# has_feature IMG FEATURE
has_feature() {
	dumpe2fs -h "$1" 2>/dev/null | grep '^Filesystem features:' | grep -qw -- "$2"
}

# e2fsck_out IMG: run `e2fsck -fy` on a copy of IMG and print its output with
# the version line and the image path removed, followed by "exit N", so the
# outputs for two images can be compared.  MMP file systems are checked with
# -fn instead (read-only, no copy needed): with MMP, a read-write e2fsck
# sleeps at least 11 seconds.
# mask_names: e2fsck's output with what --anonymize changes masked: quoted
# names, paths, and the label that starts its last lines.
mask_names() {
	sed -E -e "s/'[^']*'/'NAME'/g" -e 's|/[^ ,:()]*|/PATH|g' \
		-e 's/^[^ ]+: /LABEL: /'
}

# fsck_n IMG: e2fsck -fn's words on IMG, names masked, and its exit status
fsck_n() {
	local rc=0 out
	out=$(mktemp "$BATS_TEST_TMPDIR/fsck.XXXXXX")
	e2fsck -fn "$1" > "$out" 2>&1 || rc=$?
	grep -v '^e2fsck [0-9]' "$out" | sed -e "s|$1|IMAGE|g" | mask_names
	echo "exit $rc"
	rm -f "$out"
}

e2fsck_out() {
	local img=$1 copy out rc=0 opt=-fy
	copy=$(mktemp "$BATS_TEST_TMPDIR/fsck.XXXXXX")
	out=$copy.out
	if has_feature "$img" mmp; then
		opt=-fn
		copy=$img
	else
		cp --sparse=always "$img" "$copy"
	fi
	E2FSCK_TIME=1700000000 e2fsck $opt "$copy" > "$out" 2>&1 || rc=$?
	grep -v '^e2fsck [0-9]' "$out" | sed -e "s|$copy|IMAGE|g"
	echo "exit $rc"
	rm -f "$out" "${out%.out}"
}

# sha IMG: sha256 of a file
sha() {
	sha256sum < "$1" | cut -d' ' -f1
}

# fs_bytes IMG: the file system size in bytes (block count * block size)
fs_bytes() {
	dumpe2fs -h "$1" 2>/dev/null | awk -F: '
		/^Block count:/ { c = $2 + 0 }
		/^Block size:/ { s = $2 + 0 }
		END { printf "%d\n", c * s }'
}

# fail MSG: print a diagnostic and fail
fail() {
	printf '%s\n' "$*" >&2
	return 1
}

# diag: print to the TAP stream (visible even for passing tests with --tap)
diag() {
	printf '# %s\n' "$*" >&3
}

# same_qcow2 A B: two qcow2 files that hold the same image the same way:
# both clean for qemu-img check, the same guest bytes, the same number of
# clusters (a file written in one pass puts the data before the tables, a
# stream after them: the bytes differ, the rest must not)
same_qcow2() {
	qemu-img check -q "$1" || fail "$1: qemu-img check"
	qemu-img check -q "$2" || fail "$2: qemu-img check"
	qemu-img compare -q "$1" "$2" || fail "$1 and $2 hold different images"
	[ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] ||
		fail "$1 and $2 differ in size: $(stat -c %s "$1") vs $(stat -c %s "$2")"
}

# key FILE KEY: the value of the manifest line "KEY: value"
key() {
	sed -n "s/^$2: //p" "$1" | head -n 1
}
