#!/usr/bin/env bats
# verify.bats -- e2image --verify IMAGE [--manifest FILE] [--source DEV]:
# a clean capture verifies on every fixture; a flipped byte, a hole punched
# where an inode table was, a truncated file and an edited manifest are each
# caught, with exit status 1 and a message that names what is wrong.

load common

setup_file() {
	fixtures_built
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

check_clean() {
	local fix=$1 src
	src=$(fixture "$fix")
	"$E2IMAGE" -r --manifest=m.man "$src" r.raw 2> err || { cat err >&2; return 1; }
	"$E2IMAGE" --verify --manifest=m.man --source="$src" r.raw > out ||
		{ echo "$fix: raw:" >&2; cat out >&2; return 1; }
	grep -q ': complete$' out || { cat out >&2; return 1; }
	"$E2IMAGE" -Q "$src" q.qcow2 2> err || { cat err >&2; return 1; }
	"$E2IMAGE" --verify --source="$src" q.qcow2 > out ||
		{ echo "$fix: qcow2:" >&2; cat out >&2; return 1; }
	"$E2IMAGE" -Q -z "$src" - > z.qcow2 2> err || { cat err >&2; return 1; }
	"$E2IMAGE" --verify z.qcow2 > out ||
		{ echo "$fix: compressed stream:" >&2; cat out >&2; return 1; }
	rm -f r.raw q.qcow2 z.qcow2
}

@test "verify: a clean capture verifies (raw, qcow2, compressed stream, with --source) on every fixture" {
	local f failed=""
	for f in $(fixtures); do
		( check_clean "$f" ) || failed="$failed $f"
	done
	[ -z "$failed" ] || fail "failed on:$failed"
}

# A raw image of ext4-4k and its manifest, in the test's directory.
raw_image() {
	SRC=$(fixture ext4-4k)
	"$E2IMAGE" -r --manifest=m.man "$SRC" r.raw
}

@test "verify: a flipped byte in a directory block is an altered digest; --source names the block and its class" {
	local blk
	raw_image
	blk=$(debugfs -R "bmap <2> 0" "$SRC" 2>/dev/null)
	printf 'X' | dd of=r.raw bs=1 seek=$((blk * 4096 + 20)) conv=notrunc 2>/dev/null
	run "$E2IMAGE" --verify --manifest=m.man r.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"ALTERED: its digest is sha256 "*", the manifest records $(key m.man digest-sha256)"* ]]
	run "$E2IMAGE" --verify --manifest=m.man --source="$SRC" r.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"first bad block $blk (directories, differs from the source)"* ]]
}

@test "verify: a hole punched where an inode table was names that block" {
	local itb
	raw_image
	itb=$(dumpe2fs "$SRC" 2>/dev/null | sed -n 's/^  Inode table at \([0-9]*\)-.*/\1/p' | head -n 1)
	fallocate -p -o $((itb * 4096)) -l 4096 r.raw
	run "$E2IMAGE" --verify --manifest=m.man r.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"first bad block $itb (inode tables, missing: a hole or zeros where inodes in use are)"* ]]
}

@test "verify: a truncated image names the first captured block past its end" {
	raw_image
	truncate -s $((8000 * 4096)) r.raw
	run "$E2IMAGE" --verify --manifest=m.man r.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"INCOMPLETE: it ends at byte $((8000 * 4096)), the manifest's image at byte $((16384 * 4096)) (truncated)"* ]]
	[[ "$output" =~ first\ bad\ block\ [0-9]+\ \(journal,\ missing:\ past\ the\ end\ of\ the\ file\) ]]
}

@test "verify: an edited manifest is caught" {
	raw_image
	sed 's/^blocks-journal: .*/blocks-journal: 1/' m.man > e.man
	run "$E2IMAGE" --verify --manifest=e.man r.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"ALTERED: the manifest in e.man: it was altered: its lines do not match its manifest-sha256"* ]]
	head -n 5 m.man > cut.man
	run "$E2IMAGE" --verify --manifest=cut.man r.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"it has no manifest-sha256 line"* ]]
}

@test "verify: a qcow2 image with a flipped data byte is altered" {
	local off
	SRC=$(fixture ext4-4k)
	"$E2IMAGE" -Q "$SRC" q.qcow2
	# the first data cluster of a data-first file is cluster 1
	off=$((4096 + 2000))
	printf 'Z' | dd of=q.qcow2 bs=1 seek=$off conv=notrunc 2>/dev/null
	run "$E2IMAGE" --verify q.qcow2
	[ "$status" -eq 1 ]
	[[ "$output" == *"ALTERED: its digest is"* ]]
}

@test "verify: a raw image without --manifest is refused with the reason" {
	raw_image
	run "$E2IMAGE" --verify r.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"a raw image keeps it in a file of its own: give --manifest=FILE"* ]]
	run "$E2IMAGE" --verify -r r.raw
	[ "$status" -eq 1 ]
}

@test "verify: -O images verify at their offset" {
	SRC=$(fixture ext4-1k)
	"$E2IMAGE" -ra -O 1048576 --manifest=o.man "$SRC" o.raw
	run "$E2IMAGE" --verify --manifest=o.man --source="$SRC" o.raw
	[ "$status" -eq 0 ]
}

@test "verify: an image of a damaged source is complete with recorded problems (exit 2)" {
	local src
	src=$BATS_TEST_TMPDIR/dmg.img
	"$BATS_TEST_DIRNAME/fixtures/make-damaged.sh" etb-zero \
		"$(fixture "$("$BATS_TEST_DIRNAME/fixtures/make-damaged.sh" --base etb-zero)")" "$src"
	run "$E2IMAGE" -r --manifest=d.man "$src" d.raw
	[ "$status" -eq 2 ]
	[ "$(key d.man problems | cut -d' ' -f1)" -ge 1 ]
	grep -q '^problem: ' d.man
	run "$E2IMAGE" --verify --manifest=d.man --source="$src" d.raw
	[ "$status" -eq 2 ]
	[[ "$output" == *"complete as captured: 1 blocks its metadata names hold nothing (first "*", extent tree), as in the source"* ]]
}

@test "verify: a source's zeroed directory block that the capture saw as no problem: complete as captured (exit 2), since the digest matches" {
	local blk
	cp "$(fixture ext4-4k)" z.img
	blk=$(debugfs -R "bmap <2> 0" z.img 2>/dev/null)
	dd if=/dev/zero of=z.img bs=4096 seek="$blk" count=1 conv=notrunc 2>/dev/null
	"$E2IMAGE" -r --manifest=z.man z.img z.raw 2> /dev/null || true
	run "$E2IMAGE" --verify --manifest=z.man z.raw
	[ "$status" -eq 2 ]
	[[ "$output" == *"complete as captured"*"(first $blk, directories)"* ]]
}

@test "verify: bytes appended to a raw image are caught" {
	raw_image
	printf x >> r.raw
	run "$E2IMAGE" --verify --manifest=m.man r.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"(bytes were added)"* ]]
}

@test "verify: -s images verify, bigalloc ones too (blocks read as zeros stay holes, whatever -s wrote in the buffer)" {
	local f
	for f in ext4-4k ext4-bigalloc; do
		"$E2IMAGE" -r -s --manifest=s.man "$(fixture $f)" s.raw 2> /dev/null
		"$E2IMAGE" --verify --manifest=s.man s.raw > out || fail "$f: $(cat out)"
		"$E2IMAGE" -Q -s "$(fixture $f)" s.qcow2 2> /dev/null
		"$E2IMAGE" --verify s.qcow2 > out || fail "$f qcow2: $(cat out)"
		rm -f s.raw s.qcow2
	done
}

@test "verify: a source path with a newline cannot add a line to the manifest" {
	local n=$'evil\ndigest-sha256: none (injected)\nx'
	cp "$(fixture ext4-4k)" "$n"
	"$E2IMAGE" -r --manifest=i.man "$n" i.raw
	grep -q '^source: evil\\x0adigest' i.man
	[ "$(grep -c '^digest-sha256: ' i.man)" -eq 1 ]
	printf 'X' | dd of=i.raw bs=1 seek=$((4096 * 3 + 5)) conv=notrunc 2>/dev/null
	run "$E2IMAGE" --verify --manifest=i.man i.raw
	[ "$status" -eq 1 ]
}
