#!/usr/bin/env bats
# options.bats -- option parsing: refusals (same message and status as
# e2fsprogs' e2image where it refuses), GNU long options, --help/--version,
# and the modes that are not implemented yet.

load common

setup() {
	SRC=$(fixture ext2-1k)
	cd "$BATS_TEST_TMPDIR"
}

# refuse MSG ARGS...: both ours and the oracle exit 1 with MSG on stderr;
# ours prints nothing on stdout
refuse() {
	local msg=$1
	shift
	run "$ORACLE" "$@"
	[ "$status" -eq 1 ] || fail "oracle: exit $status for $*"
	[[ "$output" == *"$msg"* ]] || fail "oracle: no '$msg' in: $output"
	"$E2IMAGE" "$@" > out.txt 2> err.txt && fail "ours: exit 0 for $*"
	"$E2IMAGE" "$@" > /dev/null 2>&1 || [ $? -eq 1 ] || fail "ours: exit status not 1 for $*"
	grep -qF -- "$msg" err.txt || { cat err.txt >&2; fail "ours: no '$msg' on stderr for $*"; }
	[ ! -s out.txt ] || { cat out.txt >&2; fail "ours: printed on stdout for $*"; }
}

@test "options: -a without -r/-Q is refused" {
	refuse "-a option can only be used with raw or QCOW2 images." -a "$SRC" out.img
	[ ! -e out.img ]
}

@test "options: -Q with -o is refused (offsets only with raw)" {
	refuse "Offsets are only allowed with raw images." -Q -o 5 "$SRC" out.img
	[ ! -e out.img ]
}

@test "options: -r and -Q together print usage" {
	refuse "Usage:" -rQ "$SRC" out.img
	[ ! -e out.img ]
}

@test "options: no arguments prints usage and exits 1" {
	refuse "Usage:"
}

@test "options: a missing image argument prints usage" {
	refuse "Usage:" -r "$SRC"
}

@test "options: an unknown option prints usage" {
	refuse "Usage:" -z "$SRC" out.img
	[ ! -e out.img ]
}

@test "options: one path with an offset (move mode) requires -a" {
	refuse "Move mode requires all data mode." -r -o 1024 "$SRC"
}

@test "options: -c is refused when writing to stdout" {
	refuse "The -c option not supported when writing to stdout" -c -r "$SRC" -
}

@test "options: -c is refused with -Q and leaves no output file" {
	refuse "The -c option only supported in raw mode" -c -Q "$SRC" out.img
	# (the oracle leaves an empty out.img behind; ours must not)
	rm -f out.img
	"$E2IMAGE" -c -Q "$SRC" out.img 2>/dev/null || true
	[ ! -e out.img ]
}

@test "options: -Q to stdout works (the oracle refuses it) and equals -Q to a file" {
	run "$ORACLE" -Q "$SRC" -
	[ "$status" -eq 1 ]
	"$E2IMAGE" -Q "$SRC" - > out.qcow2 2> err.txt || fail "exit $?"
	[ ! -s err.txt ]
	"$E2IMAGE" -Q "$SRC" file.qcow2
	cmp out.qcow2 file.qcow2
}

# The oracle fails here ("Invalid argument passed to ext2 library while
# trying to open"); ours tries the block sizes in turn, as documented.
@test "options: -b without -B finds the block size (gives the -b N -B 1024 image)" {
	"$ORACLE" -r -b 8193 -B 1024 "$SRC" oracle.img 2>/dev/null
	run "$E2IMAGE" -r -b 8193 "$SRC" ours.img
	[ "$status" -eq 0 ] || fail "ours: exit $status: $output"
	cmp ours.img oracle.img
}

# --- GNU long options: each gives the same image as its short form ---------

# same_as_short "LONG ARGS" "SHORT ARGS"
same_as_short() {
	local long=$1 short=$2
	"$E2IMAGE" $short "$SRC" short.img > short.out 2> /dev/null || fail "short form $short failed"
	"$E2IMAGE" $long "$SRC" long.img > long.out 2> long.err || { cat long.err >&2; fail "long form $long failed"; }
	if [ -e short.img ] || [ -e long.img ]; then
		cmp short.img long.img || fail "$long differs from $short"
	fi
	cmp short.out long.out || fail "stdout of $long differs from $short"
}

@test "options: --raw is -r" {
	same_as_short "--raw" "-r"
}

@test "options: --all-data is -a" {
	same_as_short "--raw --all-data" "-ra"
}

@test "options: --superblock=N and --blocksize=N are -b N -B N" {
	same_as_short "--raw --superblock=8193 --blocksize=1024" "-r -b 8193 -B 1024"
}

@test "options: --src-offset=N and --dest-offset=N are -o N -O N" {
	same_as_short "--raw --all-data --src-offset=0 --dest-offset=4096" "-ra -o 0 -O 4096"
}

@test "options: --dry-run is -n" {
	same_as_short "--raw --dry-run" "-rn"
	grep -q '^Writing block' long.out
}

@test "options: --force is -f" {
	same_as_short "--raw --force" "-rf"
}

@test "options: --progress is -p (same image, progress on stderr)" {
	same_as_short "--raw --all-data --progress" "-ra"
	grep -q 'Copied' long.err
}

@test "options: --check is -c" {
	"$E2IMAGE" -r "$SRC" long.img 2>/dev/null
	run "$E2IMAGE" --raw --check "$SRC" long.img
	[ "$status" -eq 0 ]
	[[ "$output" == *"blocks already contained the data to be copied"* ]]
}

@test "options: --qcow2 is -Q, --cluster-size and --qcow2-version are checked" {
	"$E2IMAGE" -Q "$SRC" short.qcow2
	"$E2IMAGE" --qcow2 "$SRC" long.qcow2
	cmp short.qcow2 long.qcow2
	run "$E2IMAGE" -Q --cluster-size=3000 "$SRC" bad.qcow2
	[ "$status" -eq 1 ]
	[ ! -e bad.qcow2 ]
	run "$E2IMAGE" -Q --qcow2-version=4 "$SRC" bad.qcow2
	[ "$status" -eq 1 ]
	run "$E2IMAGE" -r --cluster-size=64k "$SRC" bad.raw
	[ "$status" -eq 1 ]
	[ ! -e bad.raw ]
}

@test "options: --scramble and --install are accepted as -s / -I" {
	run "$E2IMAGE" --raw --scramble "$SRC" s.img
	[[ "$output" != *"unrecognized option"* ]]
	[[ "$output" != *"invalid option"* ]]
	run "$E2IMAGE" --install "$SRC" i.img
	[[ "$output" != *"unrecognized option"* ]]
	[[ "$output" != *"invalid option"* ]]
}

@test "options: --help exits 0 and documents every option on stdout" {
	"$E2IMAGE" --help > help.txt 2> err.txt
	[ ! -s err.txt ]
	grep -q 'Usage:' help.txt
	local o
	for o in -r --raw -Q --qcow2 -a --all-data -f --force -b --superblock -B --blocksize \
		-c --check -n --dry-run -p --progress -s --scramble -o --src-offset \
		-O --dest-offset -I --install --help --version; do
		grep -qe "$o\\b" help.txt || fail "--help does not mention $o"
	done
}

@test "options: --version exits 0 and prints a version" {
	run "$E2IMAGE" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ [0-9]+\.[0-9]+ ]]
}

@test "options: an unknown long option prints usage and exits 1" {
	"$E2IMAGE" --no-such-option "$SRC" out.img > out.txt 2> err.txt && fail "exit 0"
	grep -q 'Usage:' err.txt
	[ ! -s out.txt ]
	[ ! -e out.img ]
}

# --- modes not implemented yet ---------------------------------------------
# These pin today's behaviour: exit 1, "not supported yet", no output file.
# Change them when the modes land.

# not_yet ARGS...: exit 1, "not supported yet" on stderr, no out.img
not_yet() {
	rm -f out.img
	"$E2IMAGE" "$@" > out.txt 2> err.txt && fail "exit 0 for $*"
	"$E2IMAGE" "$@" > /dev/null 2>&1 || [ $? -eq 1 ] || fail "exit status not 1"
	grep -q 'not supported yet' err.txt || { cat err.txt >&2; fail "no 'not supported yet' for $*"; }
	[ ! -e out.img ] || fail "$* left out.img behind"
}

@test "not yet: -s (scramble) exits 1, says not supported yet, writes nothing" {
	not_yet -r -s "$SRC" out.img
}

@test "not yet: -I (install) exits 1, says not supported yet, writes nothing" {
	cp --sparse=always "$SRC" target.img
	before=$(sha target.img)
	not_yet -I target.img out.img
	[ "$(sha target.img)" = "$before" ]
}

@test "not yet: the legacy format (neither -r nor -Q) exits 1, says not supported yet" {
	not_yet "$SRC" out.img
}
