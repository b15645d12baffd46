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

# crafted NAME [ARG]: the path of fixtures/make-NAME.sh IMG [ARG]'s image,
# built once; what the builder printed (the blocks to look for) is in the
# file of that path plus .blocks
crafted() {
	cached "$(cache_dir "$1" "make-$1.sh")" "$1${2:+-$2}.img" make_crafted "$@"
}
make_crafted() {	# NAME [ARG] TMP
	local out=${!#}
	"$BATS_TEST_DIRNAME/fixtures/make-$1.sh" "$out" "${@:2:$#-2}" > "$out.blocks"
}

setup_file() {
	crafted crafted-extents 300 && crafted crafted-orphan-file && crafted crafted-dag
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

# check_image SRC IMG: IMG, an image of the crafted fixture SRC, is as large as the
# filesystem, holds the crafted index and leaf blocks and the blocks the
# fixture lists after them, and no byte that differs from the source but
# zeros (blocks not captured).
check_image() {
	local src=$1 blocks=$1.blocks img=$2
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
	local src
	src=$(crafted crafted-extents 300)
	run limited "$E2IMAGE" -r "$src" "$BATS_TEST_TMPDIR/out.raw"
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { echo "$output"; fail "status $status"; }
	check_image "$src" "$BATS_TEST_TMPDIR/out.raw"
}

@test "memory: the same filesystem as qcow2 in 256 MiB holds the same blocks (qemu-img reads it)" {
	command -v qemu-img > /dev/null || skip "qemu-img is not installed"
	local src
	src=$(crafted crafted-extents 300)
	run limited "$E2IMAGE" -Q "$src" "$BATS_TEST_TMPDIR/out.qcow2"
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { echo "$output"; fail "status $status"; }
	qemu-img convert -O raw "$BATS_TEST_TMPDIR/out.qcow2" "$BATS_TEST_TMPDIR/out.raw"
	check_image "$src" "$BATS_TEST_TMPDIR/out.raw"
}

@test "memory: an orphan file naming one block 68000 times is read in 256 MiB, and its orphan's tree block kept" {
	local src
	src=$(crafted crafted-orphan-file)
	run limited "$E2IMAGE" -r "$src" "$BATS_TEST_TMPDIR/out.raw"
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { echo "$output"; fail "status $status"; }
	check_image "$src" "$BATS_TEST_TMPDIR/out.raw"
}

# crafted-dag (fixtures/make-crafted-dag.sh): a depth-3 extent tree whose
# index entries all name one child: 115600 extents entry by entry, three
# nodes as a graph, and an i_blocks of one block.  The walk takes each node
# once (reported: a healthy tree names no node twice) and is bounded by the
# filesystem, not by i_blocks: every node in the image, and no "more
# extents than" cut-off.  (Entry by entry, bounded by i_blocks, it stopped
# after 1040 extents.)
@test "memory: an extent tree whose nodes share one child is walked node by node, whatever i_blocks says" {
	local a b l n ino src out=$BATS_TEST_TMPDIR/dag.raw
	src=$(crafted crafted-dag)
	read -r a b l < "$src.blocks"
	ino=$(debugfs -R "stat /dag" "$src" 2> /dev/null | awk '/^Inode:/ { print $2; exit }')
	run limited timeout 60 "$E2IMAGE" -r "$src" "$out"
	[ "$status" -eq 2 ] || { echo "$output"; fail "status $status"; }
	[[ $output == *"warning: inode $ino: its extent tree names a node more than once"* ]] ||
		{ echo "$output"; fail "the shared nodes are not reported"; }
	[[ $output != *"more extents than"* ]] || { echo "$output"; fail "the walk was cut off"; }
	for n in "$a" "$b" "$l"; do
		cmp <(dd if="$src" bs=4096 skip="$n" count=1 status=none) \
		    <(dd if="$out" bs=4096 skip="$n" count=1 status=none) ||
			fail "extent node $n missing from the image"
	done
}
