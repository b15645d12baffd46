#!/usr/bin/env bats
# options.bats -- option parsing: refusals (same message and status as
# e2fsprogs' e2image where it refuses), GNU long options, --help/--version.

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
	refuse "Usage:" -y "$SRC" out.img
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
	same_qcow2 out.qcow2 file.qcow2
}

# The oracle fails here ("Invalid argument passed to ext2 library while
# trying to open"); ours tries the block sizes in turn, as documented.
@test "options: -b without -B finds the block size (gives the -b N -B 1024 image)" {
	"$ORACLE" -r -b 8193 -B 1024 "$SRC" oracle.img 2>/dev/null
	run "$E2IMAGE" -r -b 8193 "$SRC" ours.img
	[ "$status" -eq 0 ] || fail "ours: exit $status: $output"
	cmp ours.img oracle.img
}

# The README's -b 32768 is group 1's backup with 4 KiB blocks; with 1 KiB
# blocks there is none there (e2fsprogs: "Invalid argument passed to ext2
# library", ours said "short read"). The message must say so and where the
# backups are listed, and what it names must find them.
@test "options: -b N with no superblock there: said for every block size, with where the backups are listed (1 KiB and 4 KiB blocks)" {
	local big sb
	run "$E2IMAGE" -r -b 32768 "$SRC" ours.img
	[ "$status" -eq 1 ]
	[[ "$output" == *"no superblock found at block 32768 of $SRC for any block size"* ]] || fail "$output"
	[[ "$output" != *"short read"* ]] || fail "$output"
	[[ "$output" == *"dumpe2fs $SRC | grep -i superblock"* && "$output" == *"mke2fs -n $SRC"* ]] || fail "$output"
	[ ! -e ours.img ]
	run "$E2IMAGE" -r -b 32768 -B 1024 "$SRC" ours.img
	[ "$status" -eq 1 ]
	[[ "$output" == *"no superblock found at block 32768 of $SRC with block size 1024"* ]] || fail "$output"
	# what the message names lists a backup that -b takes
	sb=$(dumpe2fs "$SRC" 2>/dev/null | grep -i superblock | sed -n 's/.*Backup superblock at \([0-9]*\).*/\1/p' | head -n 1)
	[ "$sb" = 8193 ]
	cp "$SRC" probe.img   # (mke2fs -n writes nothing; the fixture is shared all the same)
	sb=$(mke2fs -n probe.img 2>/dev/null < /dev/null | sed -n '/Superblock backups/{n;s/^[[:space:]]*\([0-9]*\).*/\1/p}')
	[ "$sb" = 8193 ]
	"$E2IMAGE" -r -b "$sb" "$SRC" ours.img
	# 4 KiB blocks, two groups: 32768 is the backup
	big=$BATS_TEST_TMPDIR/big4k.img
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -b 4096 -U 6b2c3d4e-5f60-4172-8394-a5b6c7d8e9fa "$big" 160M
	"$E2IMAGE" -r -b 32768 "$big" big-ours.img
	"$ORACLE" -r -b 32768 -B 4096 "$big" big-oracle.img 2> /dev/null
	cmp big-ours.img big-oracle.img
	run "$E2IMAGE" -r -b 8193 "$big" big-none.img
	[ "$status" -eq 1 ]
	[[ "$output" == *"no superblock found at block 8193 of $big for any block size"* ]] || fail "$output"
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

# --- the mount check (-f / --force) ---------------------------------------
# libext2fs' ext2fs_check_mount_point() reports a read-write (or read-only)
# mount when EXT2FS_PRETEND_RW_MOUNT (EXT2FS_PRETEND_RO_MOUNT) is set, so
# the refusal is reached without mounting anything; the oracle, linked to
# the same library, shows the expected behaviour.

@test "options: a read-write mounted source is refused without -f, in e2fsprogs' words (-r, -Q)" {
	local m orc rc
	for m in -r -Q; do
		rm -f out.img
		orc=0 rc=0
		EXT2FS_PRETEND_RW_MOUNT=1 "$ORACLE" $m "$SRC" out.img > /dev/null 2> oracle.err || orc=$?
		[ "$orc" = 1 ] || fail "oracle $m: exit $orc: the pretend mount did not take"
		[ ! -e out.img ] || fail "oracle $m: left out.img"
		EXT2FS_PRETEND_RW_MOUNT=1 "$E2IMAGE" $m "$SRC" out.img > out.txt 2> err.txt || rc=$?
		[ "$rc" = 1 ] || fail "ours $m: exit $rc, want 1"
		[ ! -e out.img ] || fail "ours $m: left out.img behind"
		[ ! -s out.txt ] || fail "ours $m: printed on stdout"
		grep -v '^e2image [0-9]' oracle.err | diff - err.txt >&2 ||
			fail "ours $m: stderr differs from the oracle's (< oracle, > ours)"
	done
}

@test "options: -f and --force image a read-write mounted source, as if it were not mounted" {
	"$E2IMAGE" -r "$SRC" unmounted.img
	EXT2FS_PRETEND_RW_MOUNT=1 "$ORACLE" -rf "$SRC" oracle.img 2> /dev/null
	cmp unmounted.img oracle.img
	EXT2FS_PRETEND_RW_MOUNT=1 "$E2IMAGE" -rf "$SRC" short.img > short.out 2> short.err ||
		fail "-f: exit $?: $(cat short.err)"
	EXT2FS_PRETEND_RW_MOUNT=1 "$E2IMAGE" --raw --force "$SRC" long.img > long.out 2> long.err ||
		fail "--force: exit $?: $(cat long.err)"
	cmp unmounted.img short.img || fail "-f: image differs from the unmounted run's"
	cmp unmounted.img long.img || fail "--force: image differs from the unmounted run's"
	[ ! -s short.out ] && [ ! -s long.out ] || fail "something on stdout"
}

@test "options: a read-only mounted source is imaged without -f" {
	"$E2IMAGE" -r "$SRC" unmounted.img
	EXT2FS_PRETEND_RO_MOUNT=1 "$ORACLE" -r "$SRC" oracle.img 2> /dev/null ||
		fail "oracle: exit $?"
	EXT2FS_PRETEND_RO_MOUNT=1 "$E2IMAGE" -r "$SRC" ro.img 2> err.txt ||
		fail "exit $?: $(cat err.txt)"
	cmp unmounted.img ro.img
	cmp oracle.img ro.img
}

@test "options: --progress is -p (same image, progress on stderr)" {
	same_as_short "--raw --all-data --progress" "-ra"
	grep -q 'Copied' long.err
}

# checked_count FILE: N from "N blocks already contained the data to be copied"
checked_count() {
	sed -n 's/^\([0-9][0-9]*\) blocks already contained the data to be copied$/\1/p' "$1"
}

# check_like_oracle TAG SRC BASE OURS_ARGS ORACLE_ARGS: run both on copies
# of the existing output BASE; same count of blocks found in place, same
# result; leaves TAG-ours.img
check_like_oracle() {
	local tag=$1 src=$2 base=$3 ours_args=$4 oracle_args=$5 n_ours n_oracle
	cp --sparse=always "$base" "$tag-oracle.img"
	cp --sparse=always "$base" "$tag-ours.img"
	"$ORACLE" $oracle_args "$src" "$tag-oracle.img" > "$tag-oracle.out" 2> /dev/null ||
		fail "oracle $oracle_args: exit $?"
	"$E2IMAGE" $ours_args "$src" "$tag-ours.img" > "$tag-ours.out" 2> "$tag-ours.err" ||
		fail "ours $ours_args: exit $?: $(cat "$tag-ours.err")"
	n_oracle=$(checked_count "$tag-oracle.out")
	n_ours=$(checked_count "$tag-ours.out")
	[ -n "$n_oracle" ] || fail "oracle $oracle_args: no count: $(cat "$tag-oracle.out")"
	[ "$n_ours" = "$n_oracle" ] ||
		fail "$tag: ours ($ours_args) found '$n_ours' blocks in place, the oracle $n_oracle"
	cmp "$tag-ours.img" "$tag-oracle.img" || fail "$tag: the result differs from the oracle's"
}

@test "options: --check (-c) finds as many blocks in place as e2fsprogs, and rewrites the changed one" {
	local blk bs
	"$ORACLE" -ra "$SRC" base.img 2> /dev/null
	check_like_oracle meta "$SRC" base.img "--raw --check" "-rc"
	check_like_oracle all "$SRC" base.img "--raw --all-data --check" "-rac"
	check_like_oracle short "$SRC" base.img "-rac" "-rac"
	# change one data block of /medium in a copy of the source
	cp --sparse=always "$SRC" changed.img
	bs=$(dumpe2fs -h changed.img 2> /dev/null | awk -F: '/^Block size:/ { print $2 + 0 }')
	blk=$(debugfs -R "blocks /medium" changed.img 2> /dev/null | awk '{ print $2 }')
	[ -n "$blk" ] || fail "no second block in /medium"
	head -c "$bs" /dev/zero | tr '\0' 'Z' |
		dd of=changed.img bs="$bs" seek="$blk" conv=notrunc status=none
	check_like_oracle changed changed.img all-ours.img "--raw --all-data --check" "-rac"
	[ "$(checked_count changed-ours.out)" = "$(($(checked_count all-ours.out) - 1))" ] ||
		fail "after a one-block change: $(checked_count changed-ours.out) blocks in place, before $(checked_count all-ours.out)"
	"$ORACLE" -ra changed.img fresh.img 2> /dev/null
	cmp changed-ours.img fresh.img || fail "the updated image differs from a fresh -ra image of the changed source"
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

# same_refusal "LONG ARGS" "SHORT ARGS" FILE...: both forms exit with the
# same non-zero status and the same (non-empty) stderr, print nothing on
# stdout, leave no out.img behind and do not change FILEs
same_refusal() {
	local long=$1 short=$2 f long_rc=0 short_rc=0 sums=""
	shift 2
	for f in "$@"; do sums="$sums$(sha "$f") "; done
	rm -f out.img
	"$E2IMAGE" $short > short.out 2> short.err || short_rc=$?
	[ ! -e out.img ] || fail "$short left out.img behind"
	"$E2IMAGE" $long > long.out 2> long.err || long_rc=$?
	[ ! -e out.img ] || fail "$long left out.img behind"
	[ "$short_rc" != 0 ] || fail "$short: exit 0"
	[ "$long_rc" = "$short_rc" ] || fail "$long: exit $long_rc, $short: exit $short_rc"
	[ -s short.err ] || fail "$short: nothing on stderr"
	cmp short.err long.err || fail "$long: stderr '$(cat long.err)', $short: '$(cat short.err)'"
	[ ! -s short.out ] && [ ! -s long.out ] || fail "something on stdout"
	for f in "$@"; do
		[ "$(sha "$f")" = "${sums%% *}" ] || fail "$f changed"
		sums=${sums#* }
	done
}

@test "options: --install behaves exactly as -I (status, stderr, no output file, target untouched)" {
	cp --sparse=always "$SRC" target.img
	same_refusal "--install target.img out.img" "-I target.img out.img" target.img
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
