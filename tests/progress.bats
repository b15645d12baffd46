#!/usr/bin/env bats
# progress.bats -- -p in every mode, read as its readers read it
# (progress-check.py): under a pseudo-terminal (\r updates) and with stderr
# to a file (plain lines); the same words everywhere, M the number of blocks
# the run copies (e2fsprogs' count of the blocks it copies, or the blocks
# the image holds), the last line "Copied M / M blocks (100%)", stdout
# untouched; and GParted reading stderr through a pipe while the run goes.

load common

setup() {
	cd "$BATS_TEST_TMPDIR"
}

CHECK=$BATS_TEST_DIRNAME/progress-check.py

# copied OPTS SRC: how many blocks e2fsprogs copies (its final N) with OPTS
copied() {
	"$ORACLE" "$1"p "$2" oracle.img 2>&1 > /dev/null | tr '\r' '\n' |
		sed -n 's/^Copied \([0-9]*\) .*/\1/p'
	rm -f oracle.img
}

# both PREP CHECK-ARGS... -- CMD...: runs CMD twice, its stderr to a file,
# then on a pseudo-terminal (PREP, a command, before each run), and checks
# both with progress-check.py; stdout goes to out.bin, the same both times.
both() {
	local prep=$1 args=()
	shift
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	$prep
	"$@" > out.bin 2> err.txt || { cat err.txt >&2; fail "exit $? for $*"; }
	python3 "$CHECK" --pipe "${args[@]}" err.txt || { cat -A err.txt >&2; fail "off a terminal: $*"; }
	mv out.bin pipe.bin
	$prep
	script -qec "$(printf '%q ' "$@") > out.bin" /dev/null < /dev/null > tty.txt ||
		{ cat tty.txt >&2; fail "exit $? on a terminal for $*"; }
	python3 "$CHECK" --tty "${args[@]}" tty.txt || { cat -A tty.txt >&2; fail "on a terminal: $*"; }
	cmp pipe.bin out.bin || fail "stdout differs between the terminal and the file run: $*"
}

@test "progress: -rp and -rap on every fixture: M is the number of blocks e2fsprogs copies, the image is its image" {
	local f src n opt
	for f in $(fixtures); do
		src=$(fixture "$f")
		for opt in -r -ra; do
			n=$(copied "$opt" "$src")
			"$E2IMAGE" "$opt"p "$src" ours.img > out.bin 2> err.txt || fail "$f $opt: exit $?"
			python3 "$CHECK" --pipe --phase "Scanning inodes..." --total "$n" err.txt ||
				{ cat -A err.txt >&2; fail "$f $opt"; }
			[ ! -s out.bin ] || fail "$f $opt: stdout"
			"$ORACLE" "$opt" "$src" oracle.img 2> /dev/null
			cmp ours.img oracle.img || fail "$f $opt: not e2fsprogs' image"
			rm -f ours.img oracle.img
		done
	done
}

@test "progress: -rp and -rap (bigalloc, where e2fsprogs says 'Copied 3100 / 2110 blocks (147%)'): M / M" {
	local src
	src=$(fixture ext4-bigalloc)
	both "rm -f o.img" --phase "Scanning inodes..." --total "$(copied -r "$src")" -- "$E2IMAGE" -rp "$src" o.img
	[ ! -s out.bin ]
	both "rm -f o.img" --total "$(copied -ra "$src")" -- "$E2IMAGE" -rap "$src" o.img
}

@test "progress: -Qp and -Qap, to a file and streamed (two passes): the blocks e2fsprogs' -r copies" {
	local src
	src=$(fixture ext4-4k)
	both "rm -f o.qcow2" --phase "Scanning inodes..." --total "$(copied -r "$src")" -- "$E2IMAGE" -Qp "$src" o.qcow2
	[ ! -s out.bin ]
	both "rm -f o.qcow2" --total "$(copied -ra "$src")" -- "$E2IMAGE" -Qap "$src" o.qcow2
	"$E2IMAGE" -Q "$src" - > plain.qcow2 2> /dev/null
	both true --total "$(copied -r "$src")" -- "$E2IMAGE" -Qp "$src" -
	cmp plain.qcow2 out.bin || fail "-Qp to stdout: not the image -Q gives"
}

@test "progress: -rap to stdout: stdout is the image, byte for byte" {
	local src
	src=$(fixture ext2-1k)
	"$E2IMAGE" -ra "$src" - > plain.img 2> /dev/null
	both true --phase "Scanning inodes..." --total "$(copied -ra "$src")" -- "$E2IMAGE" -rap "$src" -
	cmp plain.img out.bin
}

@test "progress: -s, --anonymize (its names chosen first, on a line of their own), -n and -c" {
	local src
	src=$(fixture ext4-4k)
	both "rm -f o.img" --total "$(copied -rs "$src")" -- "$E2IMAGE" -rsp "$src" o.img
	both "rm -f o.img" --trailer --phase "Scanning inodes..." --phase "Choosing the new names..." \
		--total "$(copied -r "$src")" -- "$E2IMAGE" -rp --anonymize "$src" o.img
	[ ! -s out.bin ]
	"$E2IMAGE" -rn "$src" o.img > plain.txt
	both true --total "$(copied -r "$src")" -- "$E2IMAGE" -rnp "$src" o.img
	cmp plain.txt out.bin || fail "-rnp: stdout is not -rn's"
	"$E2IMAGE" -r "$src" o.img
	"$E2IMAGE" -rc "$src" o.img > plain.txt
	both true --total "$(copied -r "$src")" -- "$E2IMAGE" -rcp "$src" o.img
	cmp plain.txt out.bin || fail "-rcp: stdout is not -rc's"
}

# fresh_move: mv.img, the filesystem SRC with 1 MiB to move into
fresh_move() {
	cp --sparse=always "$SRC" mv.img
	truncate -s +1M mv.img
}

@test "progress: a move (-rap -O): scanned, its journal written, then the blocks e2fsprogs' -ra copies" {
	SRC=$(fixture ext4-1k)
	both fresh_move --phase "Scanning inodes..." --phase "Writing the move journal..." \
		--total "$(copied -ra "$SRC")" -- "$E2IMAGE" -rap -O 1048576 mv.img
	[ ! -s out.bin ]
	"$E2IMAGE" -ra -o 1048576 mv.img moved.img
	e2fsck -fn moved.img > /dev/null
}

@test "progress: qcow2 to raw: its tables read first, then as many blocks as the image holds clusters with data" {
	local src n
	src=$(fixture ext4-4k)
	"$E2IMAGE" -Q "$src" in.qcow2
	n=$(qemu-img map --output=json in.qcow2 | python3 -c '
import json, sys
print(sum(e["length"] for e in json.load(sys.stdin) if e["data"]) // 4096)')
	both "rm -f o.img" --phase "Reading the QCOW2 tables..." --total "$n" -- "$E2IMAGE" -rp in.qcow2 o.img
	[ ! -s out.bin ]
}

@test "progress: -I from raw, qcow2 and legacy images (e2fsprogs takes -I -p and ignores -p)" {
	local src ipb groups
	src=$(fixture ext4-4k)
	"$E2IMAGE" -r "$src" in.raw
	"$E2IMAGE" -Q "$src" in.qcow2
	"$E2IMAGE" "$src" in.e2i
	both "cp --sparse=always $src t.img" --phase "Scanning inodes..." --total "$(copied -r in.raw)" \
		-- "$E2IMAGE" -I -p t.img in.raw
	both "cp --sparse=always $src t.img" --phase "Unpacking the QCOW2 image..." --phase "Scanning inodes..." \
		--total "$(copied -r in.raw)" -- "$E2IMAGE" -I -p t.img in.qcow2
	# the legacy image's inode tables, written by libext2fs in one call
	ipb=$(dumpe2fs -h "$src" 2>/dev/null | sed -n 's/^Inode blocks per group: *//p')
	groups=$(dumpe2fs "$src" 2>/dev/null | grep -c '^Group [0-9]')
	both "cp --sparse=always $src t.img" --total $((ipb * groups)) -- "$E2IMAGE" -I -p t.img in.e2i
	cp --sparse=always "$src" o.img
	"$ORACLE" -I -p o.img in.e2i 2> /dev/null || fail "the oracle refused -I -p"
	diff <(dumpe2fs o.img 2>&1 | grep -Ev '^(Last write time|Checksum):') <(dumpe2fs t.img 2>&1 | grep -Ev '^(Last write time|Checksum):')
}

@test "progress: --verify -p: 'Checking' the image's blocks, then the source's captured ones" {
	local src blocks
	src=$(fixture ext4-4k)
	"$E2IMAGE" -r --manifest=i.man "$src" i.raw
	"$E2IMAGE" --verify --manifest=i.man --source="$src" i.raw > plain.txt
	blocks=$(dumpe2fs -h "$src" 2>/dev/null | sed -n 's/^Block count: *//p')
	both true --check --phase "Scanning inodes..." --total "$blocks" --total "$(copied -r "$src")" \
		-- "$E2IMAGE" -p --verify --manifest=i.man --source="$src" i.raw
	cmp plain.txt out.bin || fail "--verify -p: stdout is not the report --verify prints"
}

@test "progress: GParted, reading stderr through a pipe as the copy goes, sees the count move and stop; at most a line a second" {
	local src n start secs lines
	src=$(fixture ext4-1k)   # its captured blocks are spread over it
	n=$(copied -ra "$src")
	mkfifo err.fifo
	tee err.txt < err.fifo | python3 "$CHECK" --gparted --total "$n" > gparted.txt &
	start=$(date +%s.%N)
	# the image read at 20 MiB/s: 64 MiB take about 3 s
	"$E2IMAGE" -rap "$src" - 2> err.fifo | python3 -c '
import sys, time
f = sys.stdin.buffer
while True:
    b = f.read(65536)
    if not b:
        break
    time.sleep(len(b) / (20 << 20))'
	wait $! || { cat gparted.txt; fail "GParted's reading"; }
	secs=$(python3 -c "import time; print(int(time.time() - $start) + 1)")
	[ "$(cut -d' ' -f2 gparted.txt)" -ge 3 ] || fail "GParted saw $(cat gparted.txt): the bar did not move"
	lines=$(grep -c '^Copying' err.txt)
	[ "$lines" -le $((secs + 1)) ] || fail "$lines statuses in $secs s"
}

@test "progress: -p without -r or -Q is refused with e2fsprogs' words and status, and nothing is written" {
	local src want rc=0
	src=$(fixture ext2-1k)
	run "$ORACLE" -p "$src" theirs.e2i
	want=$(printf '%s\n' "$output" | grep -v '^e2image [0-9]')
	[ "$status" -eq 1 ] && [ -n "$want" ]
	"$E2IMAGE" -p "$src" ours.e2i > out.txt 2> err.txt || rc=$?
	[ "$rc" -eq "$status" ] || fail "exit $rc, e2fsprogs $status"
	[ "$(cat err.txt)" = "$want" ] || fail "said '$(cat err.txt)', e2fsprogs '$want'"
	[ ! -s out.txt ]
	# (e2fsprogs leaves an empty file behind)
	[ ! -e ours.e2i ]
}
