#!/usr/bin/env bats
# progress.bats -- -p progress on stderr, parsed the way GParted parses it:
# split stderr on \r and \n; a "Copying N / M blocks" line must appear and
# the last non-empty line must be "Copied N / M blocks (P%) in HH:MM:SS",
# with the oracle's N and M.  Progress never reaches stdout.

load common

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# lines FILE: stderr split on \r and \n, empty lines dropped
lines() {
	tr '\r' '\n' < "$1" | grep -v '^[[:space:]]*$'
}

# copied FILE: "N M" from the last line, which must be the final summary
copied() {
	local last
	last=$(lines "$1" | tail -n 1)
	[[ "$last" =~ ^Copied\ ([0-9]+)\ /\ ([0-9]+)\ blocks\ \(([0-9]+)%\)\ in\ [0-9]{2}:[0-9]{2}:[0-9]{2} ]] ||
		{ echo "last progress line is not a summary: '$last'" >&2; return 1; }
	echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
}

# check_progress FIX OPTS: ours vs the oracle
check_progress() {
	local fix=$1 opts=$2 src ours oracle
	src=$(fixture "$fix")
	"$E2IMAGE" $opts "$src" ours.img > ours.out 2> ours.err || { cat ours.err >&2; fail "$fix $opts: failed"; }
	"$ORACLE" $opts "$src" oracle.img > /dev/null 2> oracle.err || fail "oracle failed"
	[ ! -s ours.out ] || fail "$fix $opts: progress on stdout"
	lines ours.err | grep -qE '^Copying [0-9]+ / [0-9]+ blocks' ||
		{ cat -A ours.err >&2; fail "$fix $opts: no 'Copying N / M blocks' line"; }
	ours=$(copied ours.err) || { cat -A ours.err >&2; return 1; }
	oracle=$(copied oracle.err) || return 1
	[ "$ours" = "$oracle" ] || fail "$fix $opts: ours Copied '$ours', oracle '$oracle'"
	# N = M gives 100% (the oracle's N exceeds M on bigalloc: N counts
	# blocks, M clusters' worth; matching the oracle is what counts there)
	if [ "${ours% *}" = "${ours#* }" ]; then
		lines ours.err | tail -n 1 | grep -q '(100%)' || fail "$fix $opts: final line not 100%"
	fi
	diff <(lines ours.err | tail -n 1 | sed 's/ in .*//') <(lines oracle.err | tail -n 1 | sed 's/ in .*//') ||
		fail "$fix $opts: final line differs from the oracle's"
	cmp ours.img oracle.img || fail "$fix $opts: image differs from the oracle's"
	rm -f ours.img oracle.img
}

@test "progress: -rap reports the oracle's block counts (ext4-4k)" {
	check_progress ext4-4k -rap
}

@test "progress: -rp reports the oracle's block counts (ext4-4k)" {
	check_progress ext4-4k -rp
}

@test "progress: -rap reports the oracle's block counts (ext2-1k, ext3-2k, ext4-bigalloc, ext4-64k)" {
	local f
	for f in ext2-1k ext3-2k ext4-bigalloc ext4-64k; do
		check_progress "$f" -rap
	done
}

@test "progress: -rp reports the oracle's block counts (ext4-1k, ext4-inline, ext4-metabg)" {
	local f
	for f in ext4-1k ext4-inline ext4-metabg; do
		check_progress "$f" -rp
	done
}

@test "progress: -rap to stdout keeps stdout byte-identical to the output without -p" {
	local src
	src=$(fixture ext4-4k)
	"$E2IMAGE" -ra "$src" - > plain.img 2>/dev/null
	"$E2IMAGE" -rap "$src" - > progress.img 2> err.txt
	cmp plain.img progress.img
	copied err.txt > /dev/null
}

@test "progress: the summary is the last thing on stderr and ends with a newline" {
	local src
	src=$(fixture ext2-1k)
	"$E2IMAGE" -rap "$src" out.img 2> err.txt
	[ "$(tail -c 1 err.txt | od -An -c | tr -d ' ')" = '\n' ]
	copied err.txt > /dev/null
}
