#!/usr/bin/env bats
# memory.bats -- the capture's memory is bounded by the filesystem's
# geometry, not by what damaged inodes claim (issue 15).
#
# crafted-extents (fixtures/make-crafted-extents.sh): 300 directories of a
# 512 MiB filesystem share one crafted depth-2 extent tree, an index block of
# 340 entries over 340 leaves of 340 scattered one-block extents: each
# directory names 115600 blocks (40000 distinct ones), 35 million in all.
# Listing them one by one took e2image-ng 1.04 GiB (peak RSS) before the
# block map was bounded, and it failed under the 256 MiB address-space limit
# used here; it now takes about 25 MiB.
#
# crafted-orphan-file (fixtures/make-crafted-orphan-file.sh): the orphan
# file's tree names one block of 1022 entries 68000 times; collecting the
# entries one by one needed 270 MiB and failed under the same limit.

load common

LIMIT_KIB=262144

# build NAME ARGS...: fixtures/make-NAME.sh FIXDIR/NAME.img ARGS, once;
# its output goes to FIXDIR/NAME.blocks
build() {
	local name=$1 out=$FIXDIR/$1.img
	shift
	(
		flock 9
		if [ ! -s "$out" ]; then
			"$BATS_TEST_DIRNAME/fixtures/make-$name.sh" "$out.tmp" "$@" \
				> "$FIXDIR/$name.blocks" && mv "$out.tmp" "$out"
		fi
	) 9>"$FIXDIR/.lock-$name"
}

setup_file() {
	mkdir -p "$FIXDIR"
	build crafted-extents 300 && build crafted-orphan-file && build crafted-dag
}

# limited CMD...: CMD under the address-space limit.  ASan reserves
# terabytes of shadow memory, so a sanitized build runs without it.
limited() {
	if [ -n "${SANITIZER_LOG_DIR:-}" ]; then
		"$@"
	else
		(ulimit -v "$LIMIT_KIB" && "$@")
	fi
}

# check_image NAME IMG: IMG, an image of fixture NAME, is as large as the
# filesystem, holds the crafted index and leaf blocks and the blocks the
# fixture lists after them, and no byte that differs from the source but
# zeros (blocks not captured).
check_image() {
	local src=$FIXDIR/$1.img blocks=$FIXDIR/$1.blocks img=$2
	[ "$(stat -c %s "$img")" -eq "$(fs_bytes "$src")" ] ||
		fail "$img is $(stat -c %s "$img") bytes, the filesystem $(fs_bytes "$src")"
	cmp -l "$src" "$img" | awk -v list="$blocks" '
		BEGIN {
			getline line < list; split(line, f, " ")
			for (b = f[1]; b <= f[1] + f[2]; b++) want[b] = 1
			while ((getline line < list) > 0) want[line + 0] = 1
		}
		$3 != 0 { print "byte " $1 ": not the source'"'"'s, not zero"; bad = 1; exit }
		{ b = int(($1 - 1) / 4096) }
		b in want { print "block " b " (crafted, or named by the crafted tree) missing"; bad = 1; exit }
		END { exit bad }'
}

@test "memory: 300 directories sharing a crafted extent tree are imaged raw in 256 MiB of address space" {
	run limited "$E2IMAGE" -r "$FIXDIR/crafted-extents.img" "$BATS_TEST_TMPDIR/out.raw"
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { echo "$output"; fail "status $status"; }
	check_image crafted-extents "$BATS_TEST_TMPDIR/out.raw"
}

@test "memory: the same filesystem as qcow2 in 256 MiB holds the same blocks (qemu-img reads it)" {
	command -v qemu-img > /dev/null || skip "qemu-img is not installed"
	run limited "$E2IMAGE" -Q "$FIXDIR/crafted-extents.img" "$BATS_TEST_TMPDIR/out.qcow2"
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { echo "$output"; fail "status $status"; }
	qemu-img convert -O raw "$BATS_TEST_TMPDIR/out.qcow2" "$BATS_TEST_TMPDIR/out.raw"
	check_image crafted-extents "$BATS_TEST_TMPDIR/out.raw"
}

@test "memory: an orphan file naming one block 68000 times is read in 256 MiB, and its orphan's tree block kept" {
	run limited "$E2IMAGE" -r "$FIXDIR/crafted-orphan-file.img" "$BATS_TEST_TMPDIR/out.raw"
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { echo "$output"; fail "status $status"; }
	check_image crafted-orphan-file "$BATS_TEST_TMPDIR/out.raw"
}

# crafted-dag (fixtures/make-crafted-dag.sh): a depth-3 extent tree whose
# index entries all name one child: 115600 extents entry by entry, three
# nodes as a graph, and an i_blocks of one block.  The walk takes each node
# once (reported: a healthy tree names no node twice) and is bounded by the
# filesystem, not by i_blocks: every node in the image, and no "more
# extents than" cut-off.  (Entry by entry, bounded by i_blocks, it stopped
# after 1040 extents.)
@test "memory: an extent tree whose nodes share one child is walked node by node, whatever i_blocks says" {
	local a b l n ino out=$BATS_TEST_TMPDIR/dag.raw
	build crafted-dag
	read -r a b l < "$FIXDIR/crafted-dag.blocks"
	ino=$(debugfs -R "stat /dag" "$FIXDIR/crafted-dag.img" 2> /dev/null | awk '/^Inode:/ { print $2; exit }')
	run limited timeout 60 "$E2IMAGE" -r "$FIXDIR/crafted-dag.img" "$out"
	[ "$status" -eq 2 ] || { echo "$output"; fail "status $status"; }
	[[ $output == *"warning: inode $ino: its extent tree names a node more than once"* ]] ||
		{ echo "$output"; fail "the shared nodes are not reported"; }
	[[ $output != *"more extents than"* ]] || { echo "$output"; fail "the walk was cut off"; }
	for n in "$a" "$b" "$l"; do
		cmp <(dd if="$FIXDIR/crafted-dag.img" bs=4096 skip="$n" count=1 status=none) \
		    <(dd if="$out" bs=4096 skip="$n" count=1 status=none) ||
			fail "extent node $n missing from the image"
	done
}
