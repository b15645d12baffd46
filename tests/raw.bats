#!/usr/bin/env bats
# raw.bats -- raw (-r) image mode, compared byte for byte with e2fsprogs'
# e2image on every fixture.  Each test loops over all fixtures (bats 1.8 has
# no dynamic test registration), checks every one of them and names the
# fixtures that failed.  Set FIXTURES="ext2-1k ext4-4k" to restrict.

load common

# img WHO FIX NAME ARGS...: run WHO (ours|oracle) as `e2image ARGS SRC OUT`
# once per test file (cached in $BATS_FILE_TMPDIR), print OUT's path.
# Fails (printing stderr) when e2image exits non-zero.
img() {
	local who=$1 fix=$2 name=$3 bin src out rc=0
	shift 3
	bin=$E2IMAGE
	[ "$who" = oracle ] && bin=$ORACLE
	src=$(fixture "$fix") || return 1
	out=$BATS_FILE_TMPDIR/$who-$fix-$name.img
	if [ ! -e "$out.rc" ]; then
		"$bin" "$@" "$src" "$out" > "$out.stdout" 2> "$out.stderr" || rc=$?
		echo "$rc" > "$out.rc"
	fi
	if [ "$(cat "$out.rc")" != 0 ]; then
		echo "$who e2image $* $src $out: exit $(cat "$out.rc")" >&2
		cat "$out.stderr" >&2
		return 1
	fi
	printf '%s\n' "$out"
}

# each_fixture FUNC: run FUNC FIXTURE for every fixture (in a subshell),
# report the ones that failed, fail if any did.
each_fixture() {
	local f failed=""
	for f in $(fixtures); do
		if ! ( "$1" "$f" ); then
			failed="$failed $f"
			echo "FAILED on fixture $f" >&2
		fi
	done
	[ -z "$failed" ] || fail "$1 failed on:$failed"
}

# same_image WHO1 WHO2 FIX NAME ARGS...: the two images are identical
same_image() {
	local a b fix=$3 name=$4
	shift 4
	a=$(img ours "$fix" "$name" "$@") || return 1
	b=$(img oracle "$fix" "$name" "$@") || return 1
	cmp "$a" "$b" >&2 || { echo "$fix: -$name image differs from the oracle's" >&2; return 1; }
}

setup_file() {
	fixtures_built
}

check_r() { same_image ours oracle "$1" r -r; }
@test "raw: -r image is byte-identical to e2fsprogs' on every fixture" {
	each_fixture check_r
}

check_ra() { same_image ours oracle "$1" ra -ra; }
@test "raw: -ra (all data) image is byte-identical to e2fsprogs' on every fixture" {
	each_fixture check_ra
}

check_stdout() {
	local fix=$1 src ours file size
	src=$(fixture "$fix")
	ours=$BATS_TEST_TMPDIR/ours-stdout.img
	"$E2IMAGE" -r "$src" - > "$ours" 2> "$BATS_TEST_TMPDIR/err" || { cat "$BATS_TEST_TMPDIR/err" >&2; return 1; }
	"$ORACLE" -r "$src" - > "$BATS_TEST_TMPDIR/oracle-stdout.img" 2>/dev/null || return 1
	cmp "$ours" "$BATS_TEST_TMPDIR/oracle-stdout.img" >&2 || { echo "$fix: stdout image differs from the oracle's" >&2; return 1; }
	file=$(img ours "$fix" r -r) || return 1
	cmp "$ours" "$file" >&2 || { echo "$fix: stdout image differs from the file image" >&2; return 1; }
	size=$(stat -c %s "$ours")
	[ "$size" = "$(fs_bytes "$src")" ] || { echo "$fix: stdout image has $size bytes, fs has $(fs_bytes "$src")" >&2; return 1; }
	rm -f "$ours" "$BATS_TEST_TMPDIR/oracle-stdout.img"
}
@test "raw: -r to stdout equals the oracle's stdout and the file output, exactly fs-size bytes" {
	each_fixture check_stdout
}

check_offsets() {
	same_image ours oracle "$1" ra-O1M -ra -O 1048576 || return 1
	same_image ours oracle "$1" ra-o0-O4k -ra -o 0 -O 4096 || return 1
}
@test "raw: -ra -O 1048576 and -ra -o 0 -O 4096 match the oracle" {
	each_fixture check_offsets
}

check_fsck_n() {
	local fix=$1 src r ra
	src=$(fixture "$fix")
	e2fsck -fn "$src" > /dev/null 2>&1 || { echo "$fix: source does not pass e2fsck -fn" >&2; return 1; }
	r=$(img ours "$fix" r -r) || return 1
	ra=$(img ours "$fix" ra -ra) || return 1
	e2fsck -fn "$r" >&2 || { echo "$fix: e2fsck -fn fails on our -r image" >&2; return 1; }
	e2fsck -fn "$ra" >&2 || { echo "$fix: e2fsck -fn fails on our -ra image" >&2; return 1; }
}
@test "raw: e2fsck -fn passes on our -r and -ra images" {
	each_fixture check_fsck_n
}

check_fsck_same() {
	local fix=$1 src ra r or
	src=$(fixture "$fix")
	ra=$(img ours "$fix" ra -ra) || return 1
	r=$(img ours "$fix" r -r) || return 1
	or=$(img oracle "$fix" r -r) || return 1
	diff <(e2fsck_out "$src") <(e2fsck_out "$ra") >&2 ||
		{ echo "$fix: e2fsck -fy output on our -ra image differs from the source's" >&2; return 1; }
	diff <(e2fsck_out "$or") <(e2fsck_out "$r") >&2 ||
		{ echo "$fix: e2fsck -fy output on our -r image differs from the oracle image's" >&2; return 1; }
}
@test "raw: e2fsck -fy says the same on our images as on the source (-ra) / oracle image (-r)" {
	each_fixture check_fsck_same
}

check_source_unchanged() {
	local fix=$1 src before after
	src=$(fixture "$fix")
	before=$(stamp "$src")
	"$E2IMAGE" -r "$src" "$BATS_TEST_TMPDIR/a.img" 2>/dev/null || return 1
	"$E2IMAGE" -ra "$src" - 2>/dev/null > /dev/null || return 1
	"$E2IMAGE" -rc "$src" "$BATS_TEST_TMPDIR/a.img" > /dev/null 2>&1 || return 1
	"$E2IMAGE" -rn "$src" "$BATS_TEST_TMPDIR/b.img" > /dev/null 2>&1 || return 1
	"$E2IMAGE" -rap "$src" "$BATS_TEST_TMPDIR/c.img" > /dev/null 2>&1 || return 1
	after=$(stamp "$src")
	rm -f "$BATS_TEST_TMPDIR"/[abc].img
	[ "$before" = "$after" ] || { echo "$fix: source image modified" >&2; return 1; }
}
@test "raw: the source image is never modified (-r, -ra, -rc, -rn, -rap)" {
	each_fixture check_source_unchanged
}

check_sparse() {
	local fix=$1 r size used
	r=$(img ours "$fix" r -r) || return 1
	size=$(stat -c %s "$r")
	used=$(( $(stat -c %b "$r") * $(stat -c %B "$r") ))
	# metadata is a small fraction of every fixture: the holes must stay holes
	[ $((used * 4)) -lt "$size" ] || { echo "$fix: -r image not sparse: $used bytes used of $size" >&2; return 1; }
}
@test "raw: -r output files are sparse" {
	each_fixture check_sparse
}

check_overwrite() {
	local fix=$1 src fresh out size
	src=$(fixture "$fix")
	fresh=$(img ours "$fix" r -r) || return 1
	size=$(fs_bytes "$src")
	out=$BATS_TEST_TMPDIR/ff.img
	# bigger than the fs, all 0xff: no byte of it may survive
	head -c $((size + 65536)) /dev/zero | tr '\0' '\377' > "$out"
	"$E2IMAGE" -r "$src" "$out" 2>&1 || return 1
	cmp "$out" "$fresh" >&2 || { echo "$fix: stale bytes left in an overwritten output file" >&2; return 1; }
	rm -f "$out"
}
# (e2fsprogs' e2image fails this: it truncates to the fs size but leaves the
# old bytes in the holes it skips.)
@test "raw: -r over an existing 0xff-filled file gives the same bytes as a fresh output" {
	each_fixture check_overwrite
}

check_dry_run() {
	local fix=$1 src
	src=$(fixture "$fix")
	"$E2IMAGE" -rn "$src" "$BATS_TEST_TMPDIR/n.img" > "$BATS_TEST_TMPDIR/ours.out" 2> "$BATS_TEST_TMPDIR/ours.err" ||
		{ echo "$fix: -rn failed" >&2; cat "$BATS_TEST_TMPDIR/ours.err" >&2; return 1; }
	"$ORACLE" -rn "$src" "$BATS_TEST_TMPDIR/o.img" > "$BATS_TEST_TMPDIR/oracle.out" 2>/dev/null || return 1
	grep -q '^Writing block [0-9]' "$BATS_TEST_TMPDIR/ours.out" || { echo "$fix: -n lists no blocks" >&2; return 1; }
	diff <(grep '^Writing block' "$BATS_TEST_TMPDIR/oracle.out") <(grep '^Writing block' "$BATS_TEST_TMPDIR/ours.out") >&2 ||
		{ echo "$fix: -n lists other blocks than the oracle" >&2; return 1; }
	# nothing written into the image: if a file exists it holds only zeros
	if [ -e "$BATS_TEST_TMPDIR/n.img" ]; then
		cmp -n "$(stat -c %s "$BATS_TEST_TMPDIR/n.img")" "$BATS_TEST_TMPDIR/n.img" /dev/zero >&2 ||
			{ echo "$fix: -n wrote data" >&2; return 1; }
	fi
	rm -f "$BATS_TEST_TMPDIR"/[no].img
}
@test "raw: -n lists the same 'Writing block N' lines as the oracle and writes no data" {
	each_fixture check_dry_run
}

check_check() {
	local fix=$1 src fresh out ours oracle
	src=$(fixture "$fix")
	fresh=$(img ours "$fix" r -r) || return 1
	out=$BATS_TEST_TMPDIR/c.img
	cp --sparse=always "$fresh" "$out"
	"$E2IMAGE" -rc "$src" "$out" > "$BATS_TEST_TMPDIR/ours.out" 2> "$BATS_TEST_TMPDIR/ours.err" ||
		{ cat "$BATS_TEST_TMPDIR/ours.err" >&2; return 1; }
	cmp "$out" "$fresh" >&2 || { echo "$fix: -c changed an identical image" >&2; return 1; }
	cp --sparse=always "$(img oracle "$fix" r -r)" "$BATS_TEST_TMPDIR/o.img"
	"$ORACLE" -rc "$src" "$BATS_TEST_TMPDIR/o.img" > "$BATS_TEST_TMPDIR/oracle.out" 2>/dev/null || return 1
	ours=$(grep -E '^[0-9]+ blocks already contained the data to be copied$' "$BATS_TEST_TMPDIR/ours.out")
	oracle=$(grep -E '^[0-9]+ blocks already contained the data to be copied$' "$BATS_TEST_TMPDIR/oracle.out")
	[ -n "$ours" ] || { echo "$fix: -c did not report skipped blocks:" >&2; cat "$BATS_TEST_TMPDIR/ours.out" >&2; return 1; }
	[ "$ours" = "$oracle" ] || { echo "$fix: -c says '$ours', oracle '$oracle'" >&2; return 1; }
	rm -f "$out" "$BATS_TEST_TMPDIR/o.img"
}
@test "raw: -c on an identical image reports the skipped blocks like the oracle and changes nothing" {
	each_fixture check_check
}

check_backup_sb() {
	local fix=$1 src sb bs
	src=$(fixture "$fix")
	sb=$(dumpe2fs "$src" 2>/dev/null | grep -m1 -o 'Backup superblock at [0-9]*' | grep -o '[0-9]*$')
	[ -n "$sb" ] || return 0	# a single group: no backup superblock
	bs=$(dumpe2fs -h "$src" 2>/dev/null | awk -F: '/^Block size:/ { print $2 + 0 }')
	same_image ours oracle "$fix" "r-b$sb" -r -b "$sb" -B "$bs" || return 1
	same_image ours oracle "$fix" "ra-b$sb" -ra -b "$sb" -B "$bs" || return 1
}
@test "raw: -b <backup superblock> -B <blocksize> images match the oracle" {
	each_fixture check_backup_sb
}

check_B_only() { same_image ours oracle "$1" r-B -r -B "$(dumpe2fs -h "$(fixture "$1")" 2>/dev/null | awk -F: '/^Block size:/ { print $2 + 0 }')"; }
@test "raw: -B <blocksize> alone matches the oracle" {
	each_fixture check_B_only
}
