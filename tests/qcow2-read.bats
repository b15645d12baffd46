#!/usr/bin/env bats
# qcow2-read.bats -- `e2image -r image.qcow2 out`: qcow2 to raw conversion.
# Inputs come from e2fsprogs' `e2image -Q` and from `qemu-img convert` with
# the options users meet (compression, version 2, cluster sizes); the output
# must be byte-identical to e2fsprogs' own raw image (or to qemu's).

load common

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# raw_of FIX: the oracle's raw image of fixture FIX (cached per file)
raw_of() {
	local src out=$BATS_FILE_TMPDIR/raw-$1.img
	src=$(fixture "$1") || return 1
	[ -s "$out" ] || "$ORACLE" -r "$src" "$out" 2>/dev/null || return 1
	printf '%s\n' "$out"
}

# via_qemu FIX OPTS...: qemu-img convert the raw image of FIX to qcow2 with
# OPTS, convert it back with ours, compare with the raw image.
via_qemu() {
	local fix=$1 raw
	shift
	raw=$(raw_of "$fix")
	qemu-img convert -f raw -O qcow2 "$@" "$raw" q.qcow2
	"$E2IMAGE" -r q.qcow2 out.raw
	cmp out.raw "$raw"
}

@test "qcow2-read: e2image -Q of every fixture converts back identical to e2image -r" {
	local f failed=""
	for f in $(fixtures); do
		src=$(fixture "$f")
		rm -f q.qcow2 out.raw
		if ! "$ORACLE" -Q "$src" q.qcow2 2>/dev/null ||
		   ! "$E2IMAGE" -r q.qcow2 out.raw ||
		   ! cmp out.raw "$(raw_of "$f")"; then
			failed="$failed $f"
		fi
	done
	[ -z "$failed" ] || fail "failed on:$failed"
}

@test "qcow2-read: same result as e2fsprogs' own qcow2 to raw conversion" {
	"$ORACLE" -Q "$(fixture ext4-1k)" q.qcow2 2>/dev/null
	"$ORACLE" -r q.qcow2 theirs.raw 2>/dev/null
	"$E2IMAGE" -r q.qcow2 ours.raw
	cmp ours.raw theirs.raw
}

@test "qcow2-read: a cold file's scattered L2 tables are asked for at once; a cached file is asked nothing" {
	local n=0
	# LeakSanitizer cannot run under ptrace (make check-sanitize)
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	# e2fsprogs places each L2 table among the data: many of them apart
	"$ORACLE" -Q "$(fixture ext4-1k)" q.qcow2 2>/dev/null
	sync q.qcow2
	# Out of the page cache. The kernel's own readahead of the header may
	# bring the last L2 table in before it is probed (a small file, a
	# busy machine): then nothing is asked, rightly; so up to 3 tries.
	for try in 1 2 3; do
		dd if=q.qcow2 iflag=nocache count=0 status=none
		[ "$(fincore --bytes --noheadings -o RES q.qcow2)" -eq 0 ] || continue
		strace -e trace=fadvise64 -o cold.st "$E2IMAGE" -r q.qcow2 cold.raw
		n=$(grep -c 'POSIX_FADV_WILLNEED' cold.st) || true
		[ "$n" -lt 2 ] || break
	done
	[ "$n" -ge 2 ] || fail "cold: $n readahead requests"
	cat q.qcow2 > /dev/null
	strace -e trace=fadvise64 -o warm.st "$E2IMAGE" -r q.qcow2 warm.raw
	! grep -q fadvise64 warm.st || fail "warm: $(grep -c fadvise64 warm.st) requests"
	cmp cold.raw "$(raw_of ext4-1k)"
	cmp warm.raw cold.raw
}

@test "qcow2-read: zero 4 KiB blocks inside a 64 KiB cluster stay holes (no more space than e2fsprogs' -r)" {
	local raw opt
	raw=$(raw_of ext4-4k)
	for opt in "" -c; do
		qemu-img convert -f raw -O qcow2 -o cluster_size=65536 $opt "$raw" q.qcow2
		rm -f out.raw
		"$E2IMAGE" -r q.qcow2 out.raw
		cmp out.raw "$raw"
		sync out.raw "$raw"
		[ "$(stat -c %b out.raw)" -le "$(stat -c %b "$raw")" ] ||
			fail "${opt:-plain}: $(stat -c %b out.raw) blocks allocated, e2fsprogs' -r $(stat -c %b "$raw")"
	done
}

@test "qcow2-read: qemu-img -c (zlib, version 3)" {
	via_qemu ext4-4k -c
	qemu-img info q.qcow2 | grep -q 'compression type: zlib'
}

@test "qcow2-read: qemu-img -c -o compression_type=zstd" {
	via_qemu ext4-4k -c -o compression_type=zstd
	qemu-img info q.qcow2 | grep -q 'compression type: zstd'
}

@test "qcow2-read: compressed images inflate to the same bytes on --threads=1, 2 and 4 (qemu's zlib and zstd, 4k and 64k clusters)" {
	local raw o t
	raw=$(raw_of ext4-4k)
	for o in "cluster_size=4k" "cluster_size=64k" "cluster_size=64k,compression_type=zstd"; do
		rm -f q.qcow2
		qemu-img convert -f raw -O qcow2 -c -o "$o" "$raw" q.qcow2
		for t in 1 2 4; do
			rm -f out.raw
			"$E2IMAGE" -r --threads=$t q.qcow2 out.raw
			cmp out.raw "$raw" || fail "$o, $t threads"
		done
	done
}

@test "qcow2-read: qemu-img -o compat=0.10 (version 2)" {
	via_qemu ext4-1k -o compat=0.10
}

@test "qcow2-read: qemu-img -c -o compat=0.10 (version 2, compressed)" {
	via_qemu ext4-1k -c -o compat=0.10
}

@test "qcow2-read: cluster size 512" {
	via_qemu ext4-1k -o cluster_size=512
}

@test "qcow2-read: cluster size 4k" {
	via_qemu ext4-4k -o cluster_size=4k
}

@test "qcow2-read: cluster size 64k" {
	via_qemu ext4-64k -o cluster_size=64k
}

@test "qcow2-read: cluster size 2M, also compressed with zlib and zstd" {
	via_qemu ext4-4k -o cluster_size=2M
	via_qemu ext4-4k -c -o cluster_size=2M
	via_qemu ext4-4k -c -o cluster_size=2M,compression_type=zstd
}

@test "qcow2-read: compressed 512-byte clusters" {
	via_qemu ext4-1k -c -o cluster_size=512
}

@test "qcow2-read: v3 zero clusters read as zeros" {
	raw=$(raw_of ext4-4k)
	qemu-img convert -f raw -O qcow2 "$raw" q.qcow2
	# Zero the first 1 MiB through qemu: v3 marks the clusters zero.
	qemu-io -f qcow2 -c 'write -z 0 1M' q.qcow2 >/dev/null
	qemu-img map --output=json q.qcow2 | grep -q '"zero": true, "data": false'
	cp "$raw" want.raw
	dd if=/dev/zero of=want.raw bs=1M count=1 conv=notrunc status=none
	"$E2IMAGE" -r q.qcow2 out.raw
	cmp out.raw want.raw
}

@test "qcow2-read: L2 tables placed past the virtual size are read (the oracle drops them)" {
	head -c 4M /dev/urandom > rnd.raw
	# 512-byte clusters: qemu places the last L2 tables after more than
	# 4 MiB of data and metadata, past the virtual size.
	qemu-img convert -f raw -O qcow2 -o compat=0.10,cluster_size=512 rnd.raw q.qcow2
	"$E2IMAGE" -r q.qcow2 ours.raw
	cmp ours.raw rnd.raw
	run "$ORACLE" -r q.qcow2 theirs.raw
	[ "$status" -eq 0 ]
	! cmp -s theirs.raw rnd.raw
}

@test "qcow2-read: the last byte of the image is kept (the oracle zeroes it)" {
	head -c 1M /dev/urandom > rnd.raw
	printf '\377' | dd of=rnd.raw bs=1 seek=$((1048576 - 1)) conv=notrunc status=none
	qemu-img convert -f raw -O qcow2 -o compat=0.10 rnd.raw q.qcow2
	"$E2IMAGE" -r q.qcow2 ours.raw
	cmp ours.raw rnd.raw
	run "$ORACLE" -r q.qcow2 theirs.raw
	[ "$status" -eq 0 ]
	run cmp ours.raw theirs.raw
	[[ "$output" =~ differ:\ (byte|char)\ 1048576, ]]
}

@test "qcow2-read: a partial last cluster reads as zeros past the end of the file" {
	raw=$(raw_of ext4-4k)
	qemu-img convert -f raw -O qcow2 -o compat=0.10 "$raw" q.qcow2
	want=$(stat -c %s q.qcow2)
	# Drop trailing zero bytes of the last data cluster, as a short file would.
	python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
n = len(b.rstrip(b"\0"))
open(sys.argv[1], "wb").write(b[:max(n, len(b) - 4096)])' q.qcow2
	[ "$(stat -c %s q.qcow2)" -le "$want" ]
	"$E2IMAGE" -r q.qcow2 out.raw
	cmp out.raw "$raw"
}

@test "qcow2-read: a file cut inside an L2 table is refused, not read as holes (exit 1, no output)" {
	# our -Q to a file writes the L2 tables last: cut 512 bytes off
	"$E2IMAGE" -Qa "$(fixture ext4-4k)" q.qcow2
	truncate -s -512 q.qcow2
	run "$E2IMAGE" -r q.qcow2 out.raw
	[ "$status" -eq 1 ] || { echo "$output"; fail "exit $status"; }
	[[ $output == *"L2 table at "*"ends past the end of the file"*truncated* ]] || { echo "$output"; fail "no message"; }
	[ ! -e out.raw ]
}

@test "qcow2-read: to a device or into an existing file, unallocated clusters are written as zeros (no old bytes show through)" {
	local raw fs size dev
	[ "$(id -u)" = 0 ] || skip "needs root for losetup"
	fs=$(fixture ext4-4k)
	raw=$(raw_of ext4-4k)
	size=$(stat -c %s "$raw")
	"$E2IMAGE" -Q "$fs" q.qcow2
	# a file full of old bytes, updated in place at an offset (-O)
	head -c $((size + 8192)) /dev/urandom > old.img
	cp old.img keep.img
	"$E2IMAGE" -r -O 4096 q.qcow2 old.img
	cmp -n 4096 old.img keep.img || fail "the bytes before -O changed"
	cmp -i 4096:0 -n "$size" old.img "$raw" || fail "-O into an existing file: old bytes show through"
	# a device full of old bytes
	head -c "$size" /dev/urandom > dev.img
	dev=$(losetup -f --show dev.img) || skip "losetup cannot attach a loop device here"
	run "$E2IMAGE" -r q.qcow2 "$dev"
	cmp "$dev" "$raw" > cmp.out 2>&1
	local rc=$?
	losetup -d "$dev"
	[ "$status" -eq 0 ] || { echo "$output"; fail "exit $status"; }
	[ "$rc" -eq 0 ] || { cat cmp.out; fail "to a device: old bytes show through"; }
}

@test "qcow2-read: to stdout, the bytes equal the file output" {
	"$ORACLE" -Q "$(fixture ext4-4k)" q.qcow2 2>/dev/null
	"$E2IMAGE" -r q.qcow2 file.raw
	"$E2IMAGE" -r q.qcow2 - > stream.raw
	cmp file.raw stream.raw
	"$E2IMAGE" -r q.qcow2 - | cmp - file.raw
}

@test "qcow2-read: -p shows e2fsprogs' progress words in clusters" {
	"$ORACLE" -Q "$(fixture ext4-4k)" q.qcow2 2>/dev/null
	run "$E2IMAGE" -rp q.qcow2 out.raw
	[ "$status" -eq 0 ]
	[[ "$output" == *"Copying 0 / "*" blocks (0%)"* ]]
	[[ "$output" =~ Copied\ ([0-9]+)\ /\ ([0-9]+)\ blocks\ \(100%\)\ in\ [0-9][0-9]:[0-9][0-9]:[0-9][0-9] ]]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
	[ "${BASH_REMATCH[1]}" -gt 0 ]
	cmp out.raw "$(raw_of ext4-4k)"
}

@test "qcow2-read: an existing output keeps no stale bytes" {
	"$ORACLE" -Q "$(fixture ext4-4k)" q.qcow2 2>/dev/null
	raw=$(raw_of ext4-4k)
	size=$(stat -c %s "$raw")
	python3 -c 'import sys; open(sys.argv[1], "wb").write(b"\xa5" * (int(sys.argv[2]) + 65536))' out.raw "$size"
	"$E2IMAGE" -r q.qcow2 out.raw
	cmp out.raw "$raw"
}

@test "qcow2-read: -O writes after an offset; -c then finds every block in place" {
	"$ORACLE" -Q "$(fixture ext4-4k)" q.qcow2 2>/dev/null
	raw=$(raw_of ext4-4k)
	"$E2IMAGE" -r -O 1048576 q.qcow2 out.raw
	[ "$(stat -c %s out.raw)" -eq $(( $(stat -c %s "$raw") + 1048576 )) ]
	cmp -n 1048576 out.raw /dev/zero
	cmp -i 1048576:0 out.raw "$raw"
	"$E2IMAGE" -r q.qcow2 plain.raw
	run "$E2IMAGE" -rc q.qcow2 plain.raw
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[1-9][0-9]*\ blocks\ already\ contained\ the\ data\ to\ be\ copied$ ]]
	cmp plain.raw "$raw"
}

@test "qcow2-read: -n lists blocks and writes nothing" {
	"$ORACLE" -Q "$(fixture ext4-4k)" q.qcow2 2>/dev/null
	run "$E2IMAGE" -rn q.qcow2 out.raw
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "Writing block "* ]]
	[ ! -e out.raw ]
}

@test "qcow2-read: -a, -b and -o are refused for a qcow2 input" {
	"$ORACLE" -Q "$(fixture ext4-4k)" q.qcow2 2>/dev/null
	for opt in -a "-b 32768" "-o 4096"; do
		run "$E2IMAGE" -r $opt q.qcow2 out.raw
		[ "$status" -eq 1 ]
		[[ "$output" == *"is a qcow2 image: -a, -b and -o do not apply"* ]]
		[ ! -e out.raw ]
	done
}
