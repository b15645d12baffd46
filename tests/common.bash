# common.bash -- loaded by every bats file (`load common`).
#
# TESTS_BUILDDIR  the build's tests directory: the programs make built
#           (fault/) and the scratch work/; default: this directory (make
#           check sets it: a build can be in another directory)
# E2IMAGE   the binary under test (default: the one built in ../e2image)
# ORACLE    e2fsprogs' e2image, the reference behaviour
# FIXROOT   the fixture cache shared by all suites and runs (default
#           tests/work/fixtures; README "Running the tests"): one directory
#           KIND-KEY per kind of fixture, KEY a hash of the scripts that
#           build it and of the e2fsprogs that runs them (E2I_TOOLS_KEY)
# FIXDIR    the directory of the healthy fixtures of fixtures/build.sh
#           (derived, not settable: a changed build.sh must not be served the
#           images of an older one)

TESTS_BUILDDIR=${TESTS_BUILDDIR:-$BATS_TEST_DIRNAME}
E2IMAGE=${E2IMAGE:-$TESTS_BUILDDIR/../e2image/e2image}
ORACLE=${ORACLE:-/usr/sbin/e2image}
FIXROOT=${FIXROOT:-$TESTS_BUILDDIR/work/fixtures}
# what else makes a fixture: mke2fs, debugfs and e2fsck of this version
# (run-tests.sh computes it once per run)
E2I_TOOLS_KEY=${E2I_TOOLS_KEY:-$(mke2fs -V 2>&1)}
# the mtime of every cached file, so that a write to one shows
SEAL_TIME=1700000000

# content_key FILE...: a cache key for what FILEs build (sha256 of their
# contents, in order, and of the e2fsprogs version, shortened)
content_key() {
	{ cat "$@" && printf '%s\n' "$E2I_TOOLS_KEY"; } | sha256sum | cut -c1-16
}

# cache_dir KIND FILE...: the cache directory of fixtures of KIND built by
# FILEs (paths relative to tests/fixtures)
cache_dir() {
	local kind=$1 f files=()
	shift
	for f in "$@"; do
		files+=("$BATS_TEST_DIRNAME/fixtures/$f")
	done
	printf '%s\n' "$FIXROOT/$kind-$(content_key "${files[@]}")"
}

FIXDIR=$(cache_dir healthy build.sh)
export TESTS_BUILDDIR E2IMAGE ORACLE FIXROOT FIXDIR E2I_TOOLS_KEY SEAL_TIME
export LC_ALL=C TZ=UTC
# the manifest's time line: two runs give the same image (manifest.bats
# unsets it where the time is what it tests)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH-1700000000}

# cached DIR NAME CMD...: print DIR/NAME, made once by `CMD... TMP` (TMP a
# temporary path in DIR; files TMP.EXT it leaves become DIR/NAME.EXT).
# Built under a lock, so that parallel suites build it once, and renamed
# into place: a file in the cache is always whole.  Then sealed, read-only
# with its mtime set to SEAL_TIME: tests copy a fixture before writing to
# it, and run-tests.sh fails the run when a cached file has changed (root
# ignores the mode).  Making a new key's directory removes the directories
# of the same KIND and other keys where nothing was built for a day (left
# by an edited builder or an older e2fsprogs).
cached() {
	local dir=$1 name=$2 out=$1/$2
	shift 2
	if [ ! -e "$out" ]; then
		[ -d "$dir" ] || cache_prune "$dir"
		mkdir -p "$dir" || return 1
		(
			flock 9
			[ -e "$out" ] && exit 0
			tmp=$dir/.tmp-$name-$BASHPID
			rm -rf "$tmp" "$tmp".*
			trap 'rm -rf "$tmp" "$tmp".*' EXIT
			"$@" "$tmp" >&2 || exit 1
			for f in "$tmp".* "$tmp"; do
				[ -e "$f" ] || continue
				touch -d "@$SEAL_TIME" "$f" && chmod a-w "$f" &&
					mv "$f" "$out${f#"$tmp"}" || exit 1
			done
		) 9> "$dir/.lock-$name" || return 1
	fi
	printf '%s\n' "$out"
}

# cache_prune DIR: remove the directories of DIR's kind and other keys where
# nothing was built for a day
cache_prune() {
	local kind=${1##*/}
	kind=${kind%-*}
	[ -d "$FIXROOT" ] || return 0
	find "$FIXROOT" -mindepth 1 -maxdepth 1 -type d -name "$kind-????????????????" \
		! -newermt '-1 day' ! -path "$1" -exec rm -rf {} + 2> /dev/null || true
}

# fixture NAME: print the path of the healthy fixture NAME (fixtures/list),
# building it if needed
fixture() {
	cached "$FIXDIR" "$1.img" "$BATS_TEST_DIRNAME/fixtures/build.sh" "$1"
}

# for the shells of `xargs bash -c` and the like
export -f content_key cache_dir cached cache_prune fixture
export BATS_TEST_DIRNAME

# fixtures_built [NAME...]: build the fixtures NAME (default: every one of
# `fixtures`) not cached yet, JOBS (default: the CPUs) at a time
fixtures_built() {
	if [ $# -gt 0 ]; then printf '%s\n' "$@"; else fixtures; fi |
		xargs -P "${JOBS:-$(nproc)}" -I{} bash -c 'fixture "$1" > /dev/null' _ {}
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

# stamp FILE: what changes when FILE is written to: its inode, size, mtime
# and ctime (which cannot be set back).  Cheaper than the sha of a fixture,
# and stricter: a write of the same bytes shows too.
stamp() {
	stat -c '%i %s %.9Y %.9Z' "$1"
}

# fs_bytes IMG: the file system size in bytes (block count * block size)
fs_bytes() {
	dumpe2fs -h "$1" 2>/dev/null | awk -F: '
		/^Block count:/ { c = $2 + 0 }
		/^Block size:/ { s = $2 + 0 }
		END { printf "%d\n", c * s }'
}

# until_true SECONDS CMD...: poll CMD every 50 ms until it succeeds; fail
# after SECONDS.  Tests that signal a run wait for the state they are about
# this way, not for a fixed time: on a busy machine a run may not have
# reached it (nor set its signal handlers) in any given time.
until_true() {
	local n=$(($1 * 20))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || fail "timed out waiting for: $*"
		sleep 0.05
	done
}

# has_open PID FILE: process PID has FILE open
has_open() {
	local f want
	want=$(readlink -f "$2")
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f" 2> /dev/null)" = "$want" ] && return 0
	done
	return 1
}

# blocked_in PID WHAT: a thread of process PID sleeps in the kernel
# function WHAT (a pattern: pipe_write, wait_for_partner...)
blocked_in() {
	grep -qs -- "$2" /proc/"$1"/task/*/wchan
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
