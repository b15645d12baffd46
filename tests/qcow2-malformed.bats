#!/usr/bin/env bats
# qcow2-malformed.bats -- hostile qcow2 inputs to `e2image -r`: every case of
# the catalogue built by fixtures/make-bad-qcow2.py is refused with exit 1 and
# its own message, writes nothing to stdout and leaves no output file. Among
# them, images that share a cluster between two owners, which could expand a
# small file into terabytes, and images with internal snapshots.

load common

setup_file() {
	local d=$BATS_FILE_TMPDIR
	python3 -c '
import random, sys
r = random.Random(1)
b = bytearray(4 << 20)
for off in (0, 70000, 2 << 20):
    b[off:off + 100000] = bytes(r.choice(b"abcdefgh ") for _ in range(100000))
open(sys.argv[1], "wb").write(b)' "$d/base.raw"
	qemu-img convert -f raw -O qcow2 -o compat=0.10 "$d/base.raw" "$d/v2.qcow2"
	qemu-img convert -f raw -O qcow2 -o compat=1.1 "$d/base.raw" "$d/v3.qcow2"
	qemu-img convert -c -f raw -O qcow2 -o compat=0.10 "$d/base.raw" "$d/v2c.qcow2"
	cp "$d/v3.qcow2" "$d/v3s.qcow2"
	qemu-img snapshot -c before "$d/v3s.qcow2"
	"$BATS_TEST_DIRNAME/fixtures/make-bad-qcow2.py" "$d/bad" "$d/v2.qcow2" \
		"$d/v3.qcow2" "$d/v2c.qcow2" "$d/v3s.qcow2"
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	BAD=$BATS_FILE_TMPDIR/bad
}

@test "qcow2-malformed: the bases are valid and read back" {
	for b in v2 v3 v2c; do
		qemu-img check "$BATS_FILE_TMPDIR/$b.qcow2" >/dev/null
		"$E2IMAGE" -r "$BATS_FILE_TMPDIR/$b.qcow2" out.raw
		cmp out.raw "$BATS_FILE_TMPDIR/base.raw"
		rm out.raw
	done
}

@test "qcow2-malformed: each is refused with its own message, nothing written" {
	local failed="" name pat rc
	# This case's refcounts agree with its tables (qemu-img check finds
	# nothing): only the one-owner rule can refuse it.
	qemu-img check "$BAD/data-reused-refcounts-agree.qcow2" > /dev/null
	while IFS=$'\t' read -r name pat; do
		rc=0
		"$E2IMAGE" -r "$BAD/$name.qcow2" out.raw > so.txt 2> se.txt || rc=$?
		# One line, or two when the fault shows while converting: the
		# second then says the output was not written.
		if [ "$rc" != 1 ] || [ -s so.txt ] || ! head -n 1 se.txt | grep -qE -- "$pat" ||
		   ! { [ "$(wc -l < se.txt)" = 1 ] ||
		       [ "$(sed -n '2,$p' se.txt)" = "e2image: no image was written to out.raw" ]; } ||
		   [ -n "$(ls -A | grep -v '^s[oe].txt$')" ]; then
			echo "$name: exit $rc, expected /$pat/: $(cat se.txt); files: $(ls -A)" >&2
			failed="$failed $name"
		fi
		rm -f ./*
	done < "$BAD/catalogue.tsv"
	[ -z "$failed" ] || fail "not refused properly:$failed"
}

@test "qcow2-malformed: refused to stdout too, with nothing on stdout" {
	local failed="" name pat rc
	while IFS=$'\t' read -r name pat; do
		rc=0
		"$E2IMAGE" -r "$BAD/$name.qcow2" - > so.bin 2> se.txt || rc=$?
		if [ "$rc" != 1 ] || [ -s so.bin ] || ! grep -qE -- "$pat" se.txt; then
			echo "$name: exit $rc, $(wc -c < so.bin) bytes on stdout: $(cat se.txt)" >&2
			failed="$failed $name"
		fi
	done < "$BAD/catalogue.tsv"
	[ -z "$failed" ] || fail "not refused properly:$failed"
}

@test "qcow2-malformed: an existing output file is left as it was" {
	echo precious > out.raw
	run "$E2IMAGE" -r "$BAD/data-past-eof.qcow2" out.raw
	[ "$status" -eq 1 ]
	[ "$(cat out.raw)" = precious ]
	run "$E2IMAGE" -r "$BAD/compressed-garbage.qcow2" out.raw
	[ "$status" -eq 1 ]
	[ "$(cat out.raw)" = precious ]
	[ "$(ls -A)" = out.raw ]
}
