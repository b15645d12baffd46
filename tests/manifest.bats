#!/usr/bin/env bats
# manifest.bats -- the manifest every image carries: for raw images in the
# file --manifest names (and on stderr with -p), for qcow2 in a header
# extension. Its digest-sha256 is recomputed with the recipe of the man page
# (doc/image-digest.py) from the raw image, on every fixture.

load common

RECIPE=$BATS_TEST_DIRNAME/../doc/image-digest.py

setup_file() {
	fixtures_built
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# recompute IMAGE MANIFEST: the recipe's digest of a raw IMAGE
recompute() {
	python3 "$RECIPE" "$1" "$(key "$2" block-size)" "$(key "$2" image-bytes)" \
		"$(key "$2" dest-offset)"
}

check_raw_digest() {
	local fix=$1 src
	src=$(fixture "$fix")
	"$E2IMAGE" -r --manifest="$fix.man" "$src" "$fix.raw" 2> err || { cat err >&2; return 1; }
	[ "$(key "$fix.man" digest-sha256)" = "$(recompute "$fix.raw" "$fix.man")" ] ||
		{ echo "$fix: digest differs from the recipe's" >&2; cat "$fix.man" >&2; return 1; }
	# the image itself stays e2fsprogs' byte for byte
	"$ORACLE" -r "$src" "$fix.oracle" 2>/dev/null
	cmp "$fix.raw" "$fix.oracle" >&2 || return 1
	rm -f "$fix.raw" "$fix.oracle"
}

@test "manifest: -r --manifest digest is what the man page's recipe computes, on every fixture" {
	each_fixture check_raw_digest
}

@test "manifest: -ra --manifest digest matches the recipe, stdout and -O too" {
	local src
	src=$(fixture ext4-1k)
	"$E2IMAGE" -ra --manifest=a.man "$src" a.raw
	[ "$(key a.man digest-sha256)" = "$(recompute a.raw a.man)" ]
	[ "$(key a.man capture)" = "all data (-a)" ]
	"$E2IMAGE" -ra --manifest=s.man "$src" - > s.raw
	[ "$(key s.man digest-sha256)" = "$(key a.man digest-sha256)" ]
	"$E2IMAGE" -ra -O 5000 --manifest=o.man "$src" o.raw
	[ "$(key o.man dest-offset)" = 5000 ]
	[ "$(key o.man digest-sha256)" = "$(recompute o.raw o.man)" ]
}

@test "manifest: the same filesystem and options give the same manifest but for the time line" {
	local src
	src=$(fixture ext4-4k)
	SOURCE_DATE_EPOCH= "$E2IMAGE" -r --manifest=1.man "$src" 1.raw
	sleep 1
	SOURCE_DATE_EPOCH= "$E2IMAGE" -r --manifest=2.man "$src" 2.raw
	diff <(grep -v -e '^time:' -e '^manifest-sha256:' 1.man) \
	     <(grep -v -e '^time:' -e '^manifest-sha256:' 2.man)
	[ "$(key 1.man time)" != "$(key 2.man time)" ]
}

@test "manifest: records the source, the options and the counts per class" {
	local src
	src=$(fixture ext4-4k)
	"$E2IMAGE" -r -s --manifest=m.man "$src" m.raw
	[ "$(key m.man source)" = "$src" ]
	[ "$(key m.man names)" = "scrambled (-s)" ]
	[ "$(key m.man block-size)" = "$(dumpe2fs -h "$src" 2>/dev/null | sed -n 's/^Block size: *//p')" ]
	[ "$(key m.man blocks)" = "$(dumpe2fs -h "$src" 2>/dev/null | sed -n 's/^Block count: *//p')" ]
	[ "$(key m.man uuid)" = "$(dumpe2fs -h "$src" 2>/dev/null | sed -n 's/^Filesystem UUID: *//p')" ]
	[ "$(key m.man blocks-superblock)" = 1 ]
	[ "$(key m.man problems)" = "0 (inodes 0, groups 0, blocks 0, other 0)" ]
	# the manifest's last line is the SHA-256 of the lines before it
	[ "$(key m.man manifest-sha256)" = "$(head -n -1 m.man | sha256sum | cut -d' ' -f1)" ]
}

@test "manifest: -p prints it on stderr before the final Copied line" {
	local src
	src=$(fixture ext4-4k)
	"$E2IMAGE" -rp --manifest=p.man "$src" p.raw 2> err
	grep -qxF "$(grep '^manifest-sha256: ' p.man)" err
	tr '\r' '\n' < err | grep -v '^[[:space:]]*$' | tail -n 1 | grep -q '^Copied '
	# -p alone: the same manifest, digest included, the image's own
	"$E2IMAGE" -rp "$src" q.raw 2> err
	grep -q '^digest-sha256: [0-9a-f]\{64\}$' err
	grep -qxF "$(grep '^digest-sha256: ' p.man)" err
}

@test "manifest: -ra -p alone shows a manifest without the data digest, --manifest has it" {
	local src
	src=$(fixture ext4-4k)
	"$E2IMAGE" -rap "$src" a.raw 2> err
	grep -q '^digest-sha256: none (-a with -p alone' err
	"$E2IMAGE" -rap --manifest=a.man "$src" b.raw 2> err
	grep -q '^digest-sha256: [0-9a-f]\{64\}$' a.man
	grep -qxF "$(grep '^digest-sha256: ' a.man)" err
	cmp a.raw b.raw
}

@test "manifest: a failed run leaves no manifest" {
	local src
	src=$(fixture ext4-4k)
	run "$E2IMAGE" -r --manifest=f.man "$src" /nonexistent-dir/f.raw
	[ "$status" -eq 1 ]
	[ ! -e f.man ]
}

@test "manifest: refused with -n, a move and the legacy format" {
	local src
	src=$(fixture ext4-4k)
	run "$E2IMAGE" -rn --manifest=n.man "$src" n.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"--manifest applies to -r and -Q images"* ]]
	run "$E2IMAGE" --manifest=l.man "$src" l.e2i
	[ "$status" -eq 1 ]
	[ ! -e n.man ] && [ ! -e l.man ]
}

# qcow2_manifest IMAGE: the manifest in IMAGE's header extension
qcow2_manifest() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read(1 << 21)
ver, cb = struct.unpack('>I', d[4:8])[0], struct.unpack('>I', d[20:24])[0]
at = struct.unpack('>I', d[100:104])[0] if ver >= 3 else 72
while at + 8 <= (1 << cb):
    t, n = struct.unpack('>II', d[at:at + 8])
    if t == 0:
        break
    if t == 0x6532694d:
        sys.stdout.write(d[at + 8:at + 8 + n].decode())
    at += 8 + (n + 7) // 8 * 8
PY
}

@test "manifest: -Q images carry it in a header extension; qemu-img check, info and convert and e2fsprogs' -r still read them" {
	local src opt
	src=$(fixture ext4-4k)
	"$E2IMAGE" -r --manifest=r.man "$src" r.raw
	for opt in "" "--qcow2-version=3" "-z" "--compress=zstd"; do
		"$E2IMAGE" -Q $opt --manifest=q.man "$src" q.qcow2
		qcow2_manifest q.qcow2 > ext.man
		cmp q.man ext.man || fail "$opt: header manifest differs from --manifest's"
		[ "$(key q.man digest-sha256)" = "$(key r.man digest-sha256)" ] || fail "$opt: digest"
		qemu-img check q.qcow2 | grep -q 'No errors were found'
		qemu-img info q.qcow2 > /dev/null
		qemu-img convert -O raw q.qcow2 conv.raw
		cmp conv.raw r.raw
		# streamed, tables first: the same manifest
		"$E2IMAGE" -Q $opt "$src" - > s.qcow2
		qcow2_manifest s.qcow2 > s.man
		[ "$(key s.man digest-sha256)" = "$(key r.man digest-sha256)" ] || fail "$opt stream: digest"
		qemu-img check s.qcow2 | grep -q 'No errors were found'
	done
	"$E2IMAGE" -Q "$src" q2.qcow2
	"$ORACLE" -r q2.qcow2 oracle.raw 2>/dev/null
	cmp oracle.raw r.raw
}

@test "manifest: 512-byte clusters hold the compact form, which still has the digest" {
	local src
	src=$(fixture ext4-1k)
	"$E2IMAGE" -Qv --cluster-size=512 --manifest=full.man "$src" q.qcow2 2> err
	grep -q 'its compact form is stored' err
	qcow2_manifest q.qcow2 > c.man
	[ "$(key c.man compact)" = yes ]
	[ "$(key c.man digest-sha256)" = "$(key full.man digest-sha256)" ]
	[ "$(key c.man manifest-sha256)" = "$(head -n -1 c.man | sha256sum | cut -d' ' -f1)" ]
	qemu-img check q.qcow2 | grep -q 'No errors were found'
}

@test "manifest: a qcow2 stream with -s records why it has no digest" {
	local src
	src=$(fixture ext4-4k)
	"$E2IMAGE" -Q -s "$src" - > s.qcow2
	qcow2_manifest s.qcow2 > s.man
	[[ "$(key s.man digest-sha256)" == "none ("* ]]
	# to a file the digest is there
	"$E2IMAGE" -Q -s "$src" f.qcow2
	qcow2_manifest f.qcow2 > f.man
	[[ "$(key f.man digest-sha256)" =~ ^[0-9a-f]{64}$ ]]
}

@test "manifest: the recipe printed in the man page recomputes the digest" {
	local src
	src=$(fixture ext4-4k)
	"$E2IMAGE" -r --manifest=m.man "$src" m.raw
	MANWIDTH=120 man -l "$BATS_TEST_DIRNAME/../doc/e2image.8" 2>/dev/null |
		sed -n '/#!\/usr\/bin\/env python3/,/print(h.hexdigest())/p' |
		python3 -c 'import sys, textwrap; sys.stdout.write(textwrap.dedent(sys.stdin.read()))' > recipe.py
	[ "$(python3 recipe.py m.raw "$(key m.man block-size)" "$(key m.man image-bytes)")" = "$(key m.man digest-sha256)" ]
}

@test "manifest: never over the source, the image, a link or a device (the rename would replace them)" {
	local src
	cp "$(fixture ext4-4k)" src.img
	cp src.img keep.img
	run "$E2IMAGE" -r src.img o.raw --manifest=src.img
	[ "$status" -eq 1 ]
	[[ "$output" == *"--manifest src.img is the source"* ]]
	cmp src.img keep.img
	run "$E2IMAGE" -r src.img x.raw --manifest=x.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"is the image"* ]]
	ln -s nowhere dangling
	run "$E2IMAGE" -r src.img y.raw --manifest=dangling
	[ "$status" -eq 1 ]
	[ -L dangling ]
	run "$E2IMAGE" -r src.img - --manifest=/dev/stdout
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not a regular file"* ]]
	[ -L /dev/stdout ] || [ -c /dev/stdout ]
}
