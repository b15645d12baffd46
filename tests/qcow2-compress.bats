#!/usr/bin/env bats
# qcow2-compress.bats -- -Q -z / --compress=zlib|zstd[:LEVEL]: every data
# cluster compressed as qemu does it, clean for `qemu-img check`, equal in
# content to the uncompressed image for qemu-img and for our -r, the same
# bytes whatever --threads says, to files and to stdout, spilling past
# --compress-buffer into $TMPDIR and leaving nothing there.

load common

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# ours_raw FIX: our -r image of FIX (cached for the file)
ours_raw() {
	local out=$BATS_FILE_TMPDIR/raw-$1.img
	[ -e "$out" ] || "$E2IMAGE" -r "$(fixture "$1")" "$out" || return 1
	printf '%s\n' "$out"
}

# clean_and_equal Q RAW: qemu-img check is clean (nothing leaked), qemu-img
# compare finds Q equal to RAW, and qemu and we both convert Q to RAW.
clean_and_equal() {
	qemu-img check -f qcow2 "$1" > check.txt 2>&1 || { cat check.txt >&2; return 1; }
	grep -q 'No errors were found' check.txt || { cat check.txt >&2; return 1; }
	! grep -qi 'leak' check.txt || { cat check.txt >&2; return 1; }
	qemu-img compare -f qcow2 -F raw "$1" "$2" > /dev/null || return 1
	rm -f conv.raw conv-qemu.raw
	"$E2IMAGE" -r "$1" conv.raw && cmp conv.raw "$2" || return 1
	qemu-img convert -f qcow2 -O raw "$1" conv-qemu.raw && cmp conv-qemu.raw "$2"
}

has_zstd() {
	"$E2IMAGE" --help | grep -q zstd && "$E2IMAGE" -Q --compress=zstd --cluster-size=64k \
		"$(fixture ext4-4k)" probe.q 2> /dev/null
}

@test "qcow2-compress: zlib and zstd at several levels and cluster sizes: clean, compressed, equal to -r for qemu-img and for us" {
	local src raw type lv cs failed=""
	src=$(fixture ext4-4k) raw=$(ours_raw ext4-4k)
	for type in zlib zstd; do
		[ $type = zstd ] && ! has_zstd && continue
		for lv in 1 6 9; do
			for cs in 4k 64k 2M; do
				rm -f z.q
				"$E2IMAGE" -Q --compress=$type:$lv --cluster-size=$cs "$src" z.q ||
					{ failed="$failed $type:$lv/$cs(exit)"; continue; }
				clean_and_equal z.q "$raw" || failed="$failed $type:$lv/$cs"
				qemu-img info z.q | grep -q "compression type: $type" ||
					failed="$failed $type:$lv/$cs(type)"
			done
		done
	done
	[ -z "$failed" ] || fail "failed:$failed"
}

@test "qcow2-compress: every fixture, -z and zstd, to a file and to a pipe: clean and equal to -r; smaller than the uncompressed image" {
	local f src raw failed=""
	for f in $(fixtures); do
		src=$(fixture "$f") raw=$(ours_raw "$f")
		rm -f plain.q z.q z-pipe.q
		"$E2IMAGE" -Q "$src" plain.q
		"$E2IMAGE" -Q -z "$src" z.q || { failed="$failed $f(exit)"; continue; }
		"$E2IMAGE" -Q -z "$src" - | cat > z-pipe.q || { failed="$failed $f(pipe)"; continue; }
		clean_and_equal z.q "$raw" || failed="$failed $f(file)"
		clean_and_equal z-pipe.q "$raw" || failed="$failed $f(pipe)"
		[ "$(stat -c %s z.q)" -lt "$(stat -c %s plain.q)" ] ||
			failed="$failed $f(size $(stat -c %s z.q) >= $(stat -c %s plain.q))"
		if has_zstd; then
			rm -f zs.q
			"$E2IMAGE" -Q --compress=zstd "$src" - > zs.q && clean_and_equal zs.q "$raw" ||
				failed="$failed $f(zstd)"
		fi
	done
	[ -z "$failed" ] || fail "failed on:$failed"
}

@test "qcow2-compress: --threads=1, 2 and 4 give the same bytes, to a file and to stdout" {
	local src type t
	src=$(fixture ext4-4k)
	for type in zlib zstd:3 zstd:9; do
		[ "${type%%:*}" = zstd ] && ! has_zstd && continue
		for t in 1 2 4; do
			"$E2IMAGE" -Q --compress=$type --threads=$t "$src" f$t.q
			"$E2IMAGE" -Q --compress=$type --threads=$t "$src" - > s$t.q
		done
		cmp f1.q f2.q && cmp f1.q f4.q || fail "$type: files differ by thread count"
		cmp s1.q s2.q && cmp s1.q s4.q || fail "$type: streams differ by thread count"
		rm -f f?.q s?.q
	done
}

@test "qcow2-compress: past --compress-buffer a stream spills to \$TMPDIR: the same bytes, nothing left there, -v says how much" {
	local src
	src=$(fixture ext4-4k)
	mkdir spill
	"$E2IMAGE" -Q -z "$src" - > mem.q
	TMPDIR=$PWD/spill "$E2IMAGE" -v -Q -z --compress-buffer=4k "$src" - > spilled.q 2> err.txt
	cmp mem.q spilled.q
	grep -E "[1-9][0-9]* bytes went through $PWD/spill" err.txt || fail "$(cat err.txt)"
	[ -z "$(ls -A spill)" ] || fail "left in TMPDIR: $(ls -A spill)"
	# killed while spilling: still nothing left (the file never has a name)
	TMPDIR=$PWD/spill "$E2IMAGE" -Q -z --compress-buffer=4k "$src" - | { sleep 1; head -c 1 > /dev/null; } &
	sleep 0.2
	pkill -KILL -f -- "--compress-buffer=4k $src" || true
	wait || true
	[ -z "$(ls -A spill)" ] || fail "left after SIGKILL: $(ls -A spill)"
}

@test "qcow2-compress: a spill directory that cannot be written fails naming it, and nothing is written" {
	local src
	src=$(fixture ext4-4k)
	run bash -c "TMPDIR=/nonexistent-dir '$E2IMAGE' -Q -z --compress-buffer=4k '$src' - > out.q"
	[ "$status" -eq 1 ]
	[[ "$output" == *"/nonexistent-dir"* ]] || fail "$output"
	[ ! -s out.q ] || fail "$(stat -c %s out.q) bytes written"
}

@test "qcow2-compress: a failed compressed write leaves no file and says why; /dev/full is 'No space left on device'" {
	local src
	src=$(fixture ext4-4k)
	run "$E2IMAGE" -Q -z "$src" /dev/full
	[ "$status" -eq 1 ]
	[[ "$output" == *"No space left on device"* ]] || fail "$output"
	# a file that may not grow past 64 KiB: the data fails to go in
	run bash -c "ulimit -f 64; trap '' XFSZ; '$E2IMAGE' -Q -a -z '$src' img.q"
	[ "$status" -eq 1 ] || fail "exit $status: $output"
	[[ "$output" == *"File too large"* ]] || fail "$output"
	[ -z "$(ls -A)" ] || fail "left: $(ls -A)"
}

@test "qcow2-compress: refusals: without -Q, zstd in a version 2 image, unknown types and levels, --threads=0" {
	local src
	src=$(fixture ext4-4k)
	run "$E2IMAGE" -r -z "$src" out.raw
	[ "$status" -eq 1 ] && [[ "$output" == *"only apply to QCOW2 images (-Q)"* ]]
	run "$E2IMAGE" -Q --compress=zstd --qcow2-version=2 "$src" out.q
	[ "$status" -eq 1 ] && [[ "$output" == *"version 3"* ]]
	run "$E2IMAGE" -Q --compress=lz4 "$src" out.q
	[ "$status" -eq 1 ] && [[ "$output" == *"zlib or zstd"* ]]
	run "$E2IMAGE" -Q --compress=zlib:10 "$src" out.q
	[ "$status" -eq 1 ] && [[ "$output" == *"level is 1 to 9"* ]]
	run "$E2IMAGE" -Q --compress=zstd:0 "$src" out.q
	[ "$status" -eq 1 ] && [[ "$output" == *"level is 1 to 19"* ]]
	run "$E2IMAGE" -Q -z --threads=0 "$src" out.q
	[ "$status" -eq 1 ] && [[ "$output" == *"number of threads"* ]]
	[ -z "$(ls -A)" ] || fail "left: $(ls -A)"
}

@test "qcow2-compress: zstd images are version 3 with the compression type set; zlib ones stay version 2 unless asked" {
	local src
	src=$(fixture ext4-4k)
	"$E2IMAGE" -Q -z "$src" z.q
	qemu-img info z.q | grep -q "compat: 0.10"
	if has_zstd; then
		"$E2IMAGE" -Q --compress=zstd "$src" zs.q
		qemu-img info zs.q | grep -q "compat: 1.1"
		qemu-img info zs.q | grep -q "compression type: zstd"
	fi
	"$E2IMAGE" -Q -z --qcow2-version=3 "$src" z3.q
	qemu-img info z3.q | grep -q "compression type: zlib"
}

@test "qcow2-compress: a cluster that does not shrink is stored as it is (-a with random file data), and the image still reads back" {
	local d src
	d=$BATS_TEST_TMPDIR
	mkdir tree
	head -c 300000 /dev/urandom > tree/random.bin
	printf 'text %.0s' $(seq 5000) > tree/text.txt
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -b 4096 -U 6b5cbd2a-7b2b-4d3c-9e1f-0123456789ab \
		-E hash_seed=6b5cbd2a-7b2b-4d3c-9e1f-0123456789ab -d tree fs.img 8M
	"$E2IMAGE" -ra fs.img all.raw
	"$E2IMAGE" -v -Q -a -z fs.img z.q 2> err.txt
	clean_and_equal z.q all.raw
	# some clusters stored whole: fewer compressed than with data
	n=$(sed -n 's/.* \([0-9]*\) data clusters.*/\1/p' err.txt)
	c=$(sed -n 's/.*: \([0-9]*\) of them compressed.*/\1/p' err.txt)
	[ -n "$n" ] && [ -n "$c" ] && [ "$c" -lt "$n" ] || fail "$(cat err.txt)"
}

@test "qcow2-compress: a large, nearly empty filesystem: the cluster size weighs the L2 tables (one per 512 MiB of metadata at 64 KiB) against the data" {
	local u=11111111-2222-3333-4444-555555555559 plain comp
	mkdir -p tree/a
	for i in $(seq 1 50); do echo "$i" > "tree/a/f$i"; done
	truncate -s 256G big.img
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -d tree \
		-E lazy_itable_init=1,hash_seed=$u -U $u big.img
	"$E2IMAGE" -Q big.img plain.q
	"$E2IMAGE" -Q -z big.img comp.q
	plain=$(stat -c %s plain.q) comp=$(stat -c %s comp.q)
	# 64 KiB clusters gave 8.8 MB here, more than the plain 6.6 MB
	[ "$comp" -lt $((plain / 3)) ] || fail "compressed $comp bytes, plain $plain"
	qemu-img check -f qcow2 comp.q > check.txt 2>&1 || fail "$(cat check.txt)"
	"$E2IMAGE" -r big.img ref.raw
	"$E2IMAGE" -r comp.q back.raw
	qemu-img compare -f raw -F raw back.raw ref.raw
	qemu-img compare -f qcow2 -F raw comp.q ref.raw
}
