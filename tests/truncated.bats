#!/usr/bin/env bats
# truncated.bats -- a source shorter than its filesystem (a truncated image
# file, a shrunk partition): every block the plan wants that lies past the
# end is a problem, reported once with the count and the range, zero-filled
# in the image, exit 2 (exit 1 and no output with --strict). Holes inside a
# sparse source stay silent zeros. e2fsprogs' e2image prints "short read"
# per block and exits 0; where it gets that far, its image must equal ours.

load common

setup_file() {
	local d=$BATS_FILE_TMPDIR img
	img=$(fixture ext4-4k) || return 1
	printf '%s\n' "$img" > "$d/img"
	# the first block of the last captured stretch of the healthy image
	# (from the oracle's listing of the non-zero blocks it would write to a
	# new file)
	"$ORACLE" -rn "$img" "$d/none.raw" 2>/dev/null | awk '/^Writing block/ {
		b = $3; if (b != prev + 1) start = b; prev = b } END { print start }' > "$d/last"
	[ -s "$d/last" ] && [ "$(cat "$d/last")" -gt 1000 ] || return 1
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	IMG=$(cat "$BATS_FILE_TMPDIR/img")
	BS=4096
}

# cut_at BYTES: a copy of the fixture truncated to BYTES, as cut.img
cut_at() {
	cp --sparse=always "$IMG" cut.img
	truncate -s "$1" cut.img
}

# past_end_warning OUTPUT BLOCK: the warning names the source, the block
# where it ends and a count; prints the count
past_end_warning() {
	local line
	line=$(grep 'warning: cut.img ends at block' <<< "$1") ||
		{ printf '%s\n' "$1" >&2; fail "no warning about the end of the source"; }
	[ "$(wc -l <<< "$line")" -eq 1 ] || fail "more than one warning for one range: $line"
	[[ "$line" =~ ends\ at\ block\ $2\ .*:\ ([0-9]+)\ captured\ blocks\ between\ ([0-9]+)\ and\ ([0-9]+) ]] ||
		fail "warning without the block, count and range: $line"
	[ "${BASH_REMATCH[2]}" -ge "$2" ] || fail "range starts before the end: $line"
	[ "${BASH_REMATCH[3]}" -ge "${BASH_REMATCH[2]}" ] || fail "empty range: $line"
	echo "${BASH_REMATCH[1]}"
}

@test "truncated: cut at the last captured stretch: one warning with count and range, exit 2, the oracle's bytes" {
	local last n
	last=$(cat "$BATS_FILE_TMPDIR/last")
	cut_at $((last * BS))
	run "$E2IMAGE" -r cut.img ours.raw
	[ "$status" -eq 2 ] || { printf '%s\n' "$output" >&2; fail "exit status $status"; }
	n=$(past_end_warning "$output" "$last")
	[ "$n" -ge 1 ]
	grep -q "incomplete: .* $n unreadable or missing blocks" <<< "$output" ||
		fail "the summary does not count the $n missing blocks: $output"
	[ "$(stat -c %s ours.raw)" -eq "$(fs_bytes "$IMG")" ] || fail "image size"
	"$ORACLE" -r cut.img oracle.raw 2> oracle.err || fail "the oracle failed"
	grep -q "short read" oracle.err || fail "the oracle saw no short read: the cut missed the capture"
	cmp ours.raw oracle.raw
}

@test "truncated: a partial last block keeps the bytes it has, like the oracle" {
	local last
	last=$(cat "$BATS_FILE_TMPDIR/last")
	cut_at $((last * BS + 1000))
	run "$E2IMAGE" -r cut.img ours.raw
	[ "$status" -eq 2 ] || { printf '%s\n' "$output" >&2; fail "exit status $status"; }
	past_end_warning "$output" $((last + 1)) > /dev/null
	"$ORACLE" -r cut.img oracle.raw 2> /dev/null
	cmp ours.raw oracle.raw
	# the partial block's first 1000 bytes are the source's
	cmp -n 1000 <(dd if=ours.raw bs=$BS skip="$last" count=1 status=none) \
		<(dd if="$IMG" bs=$BS skip="$last" count=1 status=none)
}

@test "truncated: -Q and a stream to stdout report the same and hold the same bytes" {
	local last
	last=$(cat "$BATS_FILE_TMPDIR/last")
	cut_at $((last * BS))
	"$E2IMAGE" -r cut.img ours.raw 2> /dev/null || [ $? -eq 2 ]
	run "$E2IMAGE" -Q cut.img ours.qcow2
	[ "$status" -eq 2 ] || fail "-Q: exit status $status"
	past_end_warning "$output" "$last" > /dev/null
	qemu-img check -q ours.qcow2
	qemu-img convert -O raw ours.qcow2 q.raw
	cmp q.raw ours.raw
	"$E2IMAGE" -r cut.img - > stream.raw 2> err.txt && fail "stream: exit 0"
	past_end_warning "$(cat err.txt)" "$last" > /dev/null
	cmp stream.raw ours.raw
}

@test "truncated: --strict fails with exit 1 and leaves no output" {
	local last
	last=$(cat "$BATS_FILE_TMPDIR/last")
	cut_at $((last * BS))
	run "$E2IMAGE" --strict -r cut.img out.raw
	[ "$status" -eq 1 ] || fail "exit status $status"
	[[ "$output" == *"cut.img ends at block $last"* ]] || fail "no message: $output"
	run "$E2IMAGE" --strict -Q cut.img out.qcow2
	[ "$status" -eq 1 ] || fail "-Q: exit status $status"
	[ -z "$(ls -A | grep -v '^cut.img$')" ] || { ls -la >&2; fail "files left"; }
}

@test "truncated: cut inside the inode tables: the scan's losses and the range are reported, exit 2" {
	local itab
	itab=$(dumpe2fs "$IMG" 2>/dev/null | awk '/Inode table at/ { split($4, a, "-"); print a[1] + 20; exit }')
	cut_at $((itab * BS))
	run timeout 60 "$E2IMAGE" -r cut.img ours.raw
	[ "$status" -eq 2 ] || { printf '%s\n' "$output" >&2; fail "exit status $status"; }
	past_end_warning "$output" "$itab" > /dev/null
	grep -q "warning: block $itab: .*short read.* inode table of group 0; inodes [0-9]*-[0-9]* skipped" <<< "$output" ||
		fail "the inode scan's loss at block $itab is not reported"
	[ "$(stat -c %s ours.raw)" -eq "$(fs_bytes "$IMG")" ]
	# the part of the inode table before the cut is the source's
	cmp <(dd if=ours.raw bs=$BS skip=$((itab - 20)) count=20 status=none) \
		<(dd if="$IMG" bs=$BS skip=$((itab - 20)) count=20 status=none)
}

@test "truncated: a hole inside the source is silent zeros, exit 0" {
	local jblk
	jblk=$(debugfs -R "blocks <8>" "$IMG" 2>/dev/null | awk '{ print $2 }')
	cp --sparse=always "$IMG" holed.img
	"$E2IMAGE" -r holed.img before.raw
	# the journal's second block becomes a hole: zeros, not missing
	fallocate --punch-hole --offset $((jblk * BS)) --length $BS holed.img
	run "$E2IMAGE" -r holed.img after.raw
	[ "$status" -eq 0 ] || { printf '%s\n' "$output" >&2; fail "exit status $status"; }
	[ -z "$output" ] || fail "a hole was reported: $output"
	dd if=/dev/zero of=before.raw bs=$BS seek="$jblk" count=1 conv=notrunc status=none
	cmp before.raw after.raw
}

@test "truncated: a block device smaller than its filesystem (loop device with a size limit)" {
	local last dev n
	[ "$(id -u)" = 0 ] || skip "needs root for losetup"
	last=$(cat "$BATS_FILE_TMPDIR/last")
	cp --sparse=always "$IMG" full.img
	dev=$(losetup -f --show --sizelimit $((last * BS)) full.img) ||
		skip "losetup cannot attach a loop device here"
	run "$E2IMAGE" -r "$dev" ours.raw
	losetup -d "$dev"
	[ "$status" -eq 2 ] || { printf '%s\n' "$output" >&2; fail "exit status $status"; }
	grep -q "warning: $dev ends at block $last" <<< "$output" || fail "no warning: $output"
	cut_at $((last * BS))
	"$E2IMAGE" -r cut.img cut.raw 2> /dev/null || [ $? -eq 2 ]
	cmp ours.raw cut.raw
}
