#!/bin/bash
# check-e2fsprogs.sh -- e2fsprogs' own regression tests that run e2image,
# with our e2image in place of theirs. Run as `make check-e2fsprogs
# E2FSPROGS_SRC=DIR`, DIR a built e2fsprogs 1.47 tree (configure && make;
# `apt-get source e2fsprogs` gets 1.47.0 once a deb-src entry is in apt's
# sources). Not part of `make check`: it needs another source tree.
#
# Each test runs with e2fsprogs' own harness (tests/test_one) and a
# test_config that names our binary as E2IMAGE; its other tools are the
# tree's. The expected exception:
#   i_qcow  compares checksums of e2fsprogs' exact qcow2 files. Ours are
#           laid out differently (and, unlike theirs, leak no clusters), so
#           instead: every raw image and every qcow2 -> raw conversion must
#           have the checksum the test expects, and our qcow2 file and
#           e2fsprogs' must convert back to the same raw image.
# Logs of failed tests are kept in tests/work/check-e2fsprogs/.
set -u

die() { echo "check-e2fsprogs: $*" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
SRC=${E2FSPROGS_SRC:-}
[ -n "$SRC" ] || die "set E2FSPROGS_SRC to a built e2fsprogs 1.47 tree"
SRC=$(cd "$SRC" 2> /dev/null && pwd) || die "$E2FSPROGS_SRC: no such directory"
OURS=${E2IMAGE:-$here/../e2image/e2image}
[ -x "$OURS" ] || die "$OURS not found (build first)"
OURS=$(cd "$(dirname "$OURS")" && pwd)/$(basename "$OURS")
T=$SRC/tests
for f in "$T/test_config" "$T/i_qcow/script" "$SRC/misc/e2image" "$T/progs/crcsum"; do
	[ -e "$f" ] || die "$f is missing: is $SRC a built e2fsprogs tree (configure && make)?"
done
if [ ! -x "$T/test_one" ]; then
	make -s -C "$T" test_one mke2fs.conf test_data.tmp > /dev/null ||
		die "cannot make $T/test_one"
fi
LOGS=${TESTS_BUILDDIR:-$here}/work/check-e2fsprogs
rm -rf "$LOGS"
mkdir -p "$LOGS"
W=$(mktemp -d "${TMPDIR:-/tmp}/check-e2fsprogs.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$W"' EXIT

# Their configuration, with ours as E2IMAGE, through a wrapper that notes
# each call: two of their tests (i_zero_super, m_image_mmp) check the
# source itself when e2image fails ("e2image ... 2>/dev/null; mv"), so a
# test passes only if every call made an image (exit 0, or 2: an image with
# warnings).
cat > "$W/e2image" << EOF
#!/bin/sh
"$OURS" "\$@"
rc=\$?
echo "\$rc \$*" >> "$W/calls"
exit \$rc
EOF
chmod +x "$W/e2image"
{
	cat "$T/test_config"
	echo "E2IMAGE=\"\$USE_VALGRIND $W/e2image\""
	echo "E2IMAGE_EXE=\"$W/e2image\""
} > "$W/test_config"

# Every test whose script runs e2image.
TESTS=$(cd "$T" && grep -l 'E2IMAGE' */script | cut -d/ -f1 | sort -u)
[ -n "$TESTS" ] || die "no test in $T runs e2image"

# i_qcow, checked as described above.
i_qcow() {
	local crc=$T/i_qcow/i_qcow.crc img name d ok=1 want got
	for img in "$T"/i_qcow/*.orig.bz2; do
		name=$(basename "$img" .bz2)
		d=$W/$name
		bunzip2 < "$img" > "$d" || return 1
		"$OURS" -r "$d" "$d.raw" &&
		"$OURS" -Q "$d" "$d.qcow2" &&
		"$OURS" -r "$d.qcow2" "$d.qcow2.raw" &&
		"$SRC/misc/e2image" -Q "$d" "$d.theirs.qcow2" 2> /dev/null &&
		"$OURS" -r "$d.theirs.qcow2" "$d.theirs.raw" &&
		"$SRC/misc/e2image" -r "$d.qcow2" "$d.byoracle.raw" 2> /dev/null || {
			echo "i_qcow: $name: a conversion failed"; ok=0; continue; }
		for k in raw_image:"$d.raw" qcow_to_raw:"$d.qcow2.raw"; do
			want=$(awk -v n="i_qcow/$name" -v k="${k%%:*}" '
				$1 == n { on = 1; next } /^i_qcow\// { on = 0 }
				on && $1 == k { print $2 }' "$crc")
			got=$("$T/progs/crcsum" "${k#*:}")
			[ "$got" = "$want" ] || { echo "i_qcow: $name: ${k%%:*} checksum $got, expected $want"; ok=0; }
		done
		cmp -s "$d.qcow2.raw" "$d.theirs.raw" ||
			{ echo "i_qcow: $name: our qcow2 and e2fsprogs' convert to different raw images"; ok=0; }
		cmp -s "$d.byoracle.raw" "$d.raw" ||
			{ echo "i_qcow: $name: e2fsprogs converts our qcow2 to another raw image"; ok=0; }
		rm -f "$d" "$d".*
	done
	[ $ok = 1 ]
}

pass=0 failed=0
printf '%-14s %-10s %s\n' test result how > "$W/table"
cd "$T" || die "cannot enter $T"
for t in $TESTS; do
	if [ "$t" = i_qcow ]; then
		if i_qcow > "$LOGS/$t.log" 2>&1; then r=ok; else r=FAILED; fi
		how="raw and qcow2->raw checksums, both qcow2 files -> same raw"
	else
		rm -f "$t.ok" "$t.failed" "$W/calls"
		TEST_CONFIG=$W/test_config ./test_one "$t" > "$LOGS/$t.out" 2>&1
		if [ -e "$t.ok" ]; then r=ok; else r=FAILED; fi
		if [ ! -s "$W/calls" ]; then
			r=FAILED; echo "e2image was not run" >> "$LOGS/$t.out"
		elif grep -qv '^[02] ' "$W/calls"; then
			r=FAILED; grep -v '^[02] ' "$W/calls" | sed 's/^/e2image exited /' >> "$LOGS/$t.out"
		fi
		how="e2fsprogs' harness, expected output"
		[ -e "$t.failed" ] && cp "$t.failed" "$LOGS/$t.failed"
		[ -e "$t.log" ] && cp "$t.log" "$LOGS/$t.log"
		rm -f "$t.ok" "$t.failed" "$t.log"
	fi
	[ $r = ok ] && pass=$((pass + 1)) || failed=$((failed + 1))
	printf '%-14s %-10s %s\n' "$t" "$r" "$how" >> "$W/table"
done
cat "$W/table"
[ $failed = 0 ] || echo "logs: $LOGS"
echo "$pass passed, $failed failed"
[ $failed = 0 ]
