#!/usr/bin/env bats
# report.bats -- --report=json: a JSON account of the run, checked with jq
# against what the image holds (its non-zero blocks counted here, its size),
# what the manifest says, what dumpe2fs, debugfs and e2fsprogs' own image
# say, and the man page (every key documented).

load common

setup_file() {
	fixtures_built
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# nonzero BS FILE...: for each FILE, its blocks of BS bytes that are not
# all zeros (holes read as zeros), one count a line
nonzero() {
	python3 - "$@" <<'PY'
import os, sys
bs = int(sys.argv[1])
for path in sys.argv[2:]:
    fd, n, pos = os.open(path, os.O_RDONLY), 0, 0
    end = os.fstat(fd).st_size
    while pos < end:
        try:
            pos = os.lseek(fd, pos, os.SEEK_DATA) // bs * bs
        except OSError:
            break
        b = os.pread(fd, bs, pos)
        n += b.count(0) != len(b)
        pos += bs
    print(n)
PY
}

# last_json FILE: the report line of a stderr capture (the last line that
# is a JSON object), checked to be the last line
last_json() {
	local line
	line=$(tail -n 1 "$1")
	[ "${line:0:11}" = '{"schema":1' ] || { echo "the report is not the last line of $1" >&2; return 1; }
	printf '%s\n' "$line"
}

# check_consistent REPORT: what every report must satisfy
check_consistent() {
	jq -e '
		.schema == 1 and
		(.captured == null or
		 ([.captured.classes[]] | add) == .captured.blocks) and
		(.captured == null or .captured.bytes == .captured.blocks * .filesystem.block_size) and
		(.image.data_blocks == null or
		 .image.hole_bytes == .image.bytes - .image.data_blocks * .image.block_size) and
		(.captured == null or .captured.zero_blocks == null or
		 .captured.zero_blocks == .captured.blocks - .image.data_blocks) and
		.io.read_bytes == (.io.scan_read_bytes // 0) + .io.copy_read_bytes and
		(.warnings.listed == (.warnings.list | length)) and
		(.elapsed_seconds >= 0)' "$1" > /dev/null ||
		{ echo "inconsistent report $1:" >&2; jq . "$1" >&2; return 1; }
}

# as_manifest REPORT: the report's figures that the manifest has too, as
# manifest lines (classes: hyphens for underscores, the empty ones left out)
as_manifest() {
	jq -r '"captured-blocks: \(.captured.blocks)",
	       (.captured.classes | to_entries[] | select(.value > 0) |
	        "blocks-\(.key | gsub("_"; "-")): \(.value)"),
	       "digest-sha256: \(.image.digest_sha256)",
	       "nonzero-blocks: \(.image.data_blocks)",
	       "manifest-sha256: \(.manifest.sha256)"' "$1" | sort
}

# check_fixture NAME: -r and --manifest in one run; the report against the
# manifest, the image, e2fsprogs' image and dumpe2fs
check_fixture() {
	local fix=$1 src bs data written fbytes blocks uuid ours oracle
	src=$(fixture "$fix")
	"$E2IMAGE" -r --manifest="$fix.man" --report=json:"$fix.json" "$src" "$fix.raw" 2> err ||
		{ cat err >&2; return 1; }
	check_consistent "$fix.json" || return 1
	# the report says what the manifest says
	diff <(as_manifest "$fix.json") \
	     <(grep -E '^(captured-blocks|blocks-[a-z-]*|digest-sha256|nonzero-blocks|manifest-sha256):' "$fix.man" | sort) >&2 ||
		{ echo "$fix: the report and the manifest differ" >&2; return 1; }
	# ...and what the image holds: its non-zero blocks, all written; as
	# many as in e2fsprogs' image of it
	"$ORACLE" -r "$src" "$fix.oracle" 2> /dev/null
	IFS=$'\t' read -r bs data written fbytes blocks uuid < <(jq -r '[.filesystem.block_size,
		.image.data_blocks, .io.written_bytes, .image.file_bytes, .filesystem.blocks,
		.filesystem.uuid] | @tsv' "$fix.json")
	{ read -r ours; read -r oracle; } < <(nonzero "$bs" "$fix.raw" "$fix.oracle")
	[ "$data" = "$ours" ] && [ "$data" = "$oracle" ] ||
		{ echo "$fix: data_blocks $data, the image holds $ours, e2fsprogs' $oracle" >&2; return 1; }
	[ "$written" = $((ours * bs)) ] && [ "$fbytes" = "$(stat -c %s "$fix.raw")" ] || return 1
	# the filesystem as dumpe2fs sees it
	dumpe2fs -h "$src" 2> /dev/null > dump
	[ "$blocks" = "$(sed -n 's/^Block count: *//p' dump)" ] || return 1
	[ "$uuid" = "$(sed -n 's/^Filesystem UUID: *//p' dump)" ] || return 1
	rm -f "$fix.raw" "$fix.oracle"
}

@test "report: on every fixture the classes add up and match the manifest, the image's non-zero blocks and e2fsprogs' image" {
	each_fixture check_fixture
}

@test "report: class counts match dumpe2fs and debugfs (journal, descriptors, legacy inode tables)" {
	local src jblocks
	src=$(fixture ext4-4k)
	"$E2IMAGE" -r --report=json:r.json "$src" r.raw
	jblocks=$(debugfs -R "blocks <8>" "$src" 2> /dev/null | wc -w)
	[ "$(jq .captured.classes.journal r.json)" = "$jblocks" ]
	# the primary descriptors: "Group descriptors at 1-1" in group 0
	[ "$(jq .captured.classes.group_descriptors r.json)" = \
	  "$(dumpe2fs "$src" 2> /dev/null | sed -n 's/^  Primary superblock at 0, Group descriptors at \([0-9]*\)-\([0-9]*\)$/\2 \1/p' |
	     awk '{ print $1 - $2 + 1 }')" ]
	# the legacy image holds every group's whole inode table
	"$E2IMAGE" --report=json:l.json "$src" l.e2i
	check_consistent l.json
	[ "$(jq .captured.classes.inode_tables l.json)" = \
	  "$(dumpe2fs -h "$src" 2> /dev/null | awk -F: '/^Inode blocks per group:/ { i = $2 } END { print i }' |
	     tr -d ' ' | xargs -I{} expr {} \* "$(jq .filesystem.groups l.json)")" ]
	[ "$(jq .image.file_bytes l.json)" = "$(stat -c %s l.e2i)" ]
	[ "$(jq -r .image.no_digest l.json)" != null ]
	[ "$(jq .captured.classes.file_data r.json)" = 0 ]
	# -a: the file data has its class, and the image holds it
	"$E2IMAGE" -ra --report=json:a.json "$src" a.raw
	check_consistent a.json
	[ "$(jq '.captured.classes.file_data > 0' a.json)" = true ]
	[ "$(jq .image.data_blocks a.json)" = "$(nonzero 4096 a.raw)" ]
}

@test "report: on stderr it is the last line, one JSON object; stdout holds only the image (raw and qcow2 streams)" {
	local src
	src=$(fixture ext4-4k)
	"$E2IMAGE" -r "$src" f.raw
	"$E2IMAGE" -r --report=json "$src" - 2> err | cat > s.raw
	cmp s.raw f.raw
	last_json err > r.json
	check_consistent r.json
	[ "$(jq -r .image.path r.json)" = - ]
	# a pipe gets every byte, zeros included
	[ "$(jq .io.written_bytes r.json)" = "$(stat -c %s f.raw)" ]
	# json:- is the same, and -p's lines come before it
	"$E2IMAGE" -rp --report=json:- "$src" - 2> err2 > s2.raw
	cmp s2.raw f.raw
	last_json err2 | jq -e '.options.progress' > /dev/null
	tr '\r' '\n' < err2 | grep -q '^Copied '
	"$E2IMAGE" -Q "$src" f.qcow2
	"$E2IMAGE" -Q --report=json "$src" - 2> err3 | cat > s.qcow2
	qemu-img check -q s.qcow2
	qemu-img compare -q s.qcow2 f.qcow2
	last_json err3 > q.json
	[ "$(jq .image.file_bytes q.json)" = "$(stat -c %s s.qcow2)" ]
	[ "$(jq .io.written_bytes q.json)" = "$(stat -c %s s.qcow2)" ]
	[ "$(jq -r .image.digest_sha256 q.json)" = "$(jq -r .image.digest_sha256 r.json)" ]
}

@test "report: qcow2 (compressed or not), dry run, -c and a qcow2 image made raw" {
	local src z n
	src=$(fixture ext4-1k)
	"$E2IMAGE" -r --report=json:r.json "$src" r.raw
	for z in "" -z --compress=zstd; do
		"$E2IMAGE" -Q $z --manifest=q.man --report=json:q.json "$src" q.qcow2
		check_consistent q.json
		[ "$(jq -r .mode q.json)" = qcow2 ]
		[ "$(jq .image.file_bytes q.json)" = "$(stat -c %s q.qcow2)" ]
		[ "$(jq .io.written_bytes q.json)" = "$(stat -c %s q.qcow2)" ]
		[ "$(jq -r .image.digest_sha256 q.json)" = "$(jq -r .image.digest_sha256 r.json)" ]
		[ "$(jq -r .manifest.sha256 q.json)" = "$(key q.man manifest-sha256)" ]
		# whole where it fits the header cluster: with 1 KiB clusters that
		# depends on the length of the source's path, so compact there too
		if [ -z "$z" ]; then
			[[ "$(jq -r .manifest.in_image q.json)" =~ ^(full|compact)$ ]]
		else
			[ "$(jq -r .manifest.in_image q.json)" = full ]
		fi
		[ "$(jq -r .image.format q.json)" = "$(key q.man format)" ]
	done
	[ "$(jq -r .options.compress.type q.json)" = zstd ]
	# -n: nothing written but the report; the blocks listed on stdout
	"$E2IMAGE" -rn --report=json:n.json "$src" n.raw > listed
	[ ! -e n.raw ]
	check_consistent n.json
	[ "$(jq .io.written_bytes n.json)" = 0 ]
	[ "$(jq .io.listed_blocks n.json)" = "$(grep -c '^Writing block' listed)" ]
	[ "$(jq -r .image.digest_sha256 n.json)" = "$(jq -r .image.digest_sha256 r.json)" ]
	# -c into the same image: every block found in place, none written
	"$E2IMAGE" -rc --report=json:c.json "$src" r.raw > said
	n=$(sed -n 's/^\([0-9]*\) blocks already contained.*/\1/p' said)
	[ "$(jq .io.unchanged_blocks c.json)" = "$n" ]
	[ "$(jq .io.written_bytes c.json)" = 0 ]
	# qcow2 -> raw: no filesystem read; the raw image's figures
	"$E2IMAGE" -r --report=json:c2r.json q.qcow2 conv.raw
	cmp conv.raw r.raw
	check_consistent c2r.json
	[ "$(jq -r .mode c2r.json)" = qcow2-to-raw ]
	[ "$(jq .filesystem c2r.json)" = null ] && [ "$(jq .captured c2r.json)" = null ]
	[ "$(jq .image.bytes c2r.json)" = "$(qemu-img info --output=json q.qcow2 | jq '."virtual-size"')" ]
	[ "$(jq .image.data_blocks c2r.json)" = "$(nonzero "$(jq .image.block_size c2r.json)" conv.raw)" ]
	[ "$(jq .io.written_bytes c2r.json)" = "$(($(jq .image.data_blocks c2r.json) * $(jq .image.block_size c2r.json)))" ]
	[ "$(jq .source.bytes c2r.json)" = "$(stat -c %s q.qcow2)" ]
}

@test "report: every key is documented in the man page's REPORT section" {
	local src k missing=""
	src=$(fixture ext4-4k)
	"$E2IMAGE" -r --anonymize --manifest=m.man --report=json:a.json "$src" a.raw 2> /dev/null
	"$E2IMAGE" -Q -z --report=json:q.json "$src" q.qcow2
	"$E2IMAGE" -r --report=json:d.json "$(damage etb-garbage)" d.raw 2> /dev/null || true
	cp "$src" $'\xff.img'
	"$E2IMAGE" -r --report=json:h.json $'\xff.img' h.raw
	# the troff source: no hyphenation there to split a key
	sed -n '/^\.SH REPORT/,/^\.SH VERIFYING/p' "$BATS_TEST_DIRNAME/../doc/e2image.8" > section
	[ -s section ]
	for k in $(jq -r '[paths | .[] | strings] | unique[]' a.json q.json d.json h.json | sort -u); do
		[[ $k == *_hex ]] && k=_hex
		grep -qw -- "$k" section || missing="$missing $k"
	done
	[ -z "$missing" ] || fail "undocumented keys:$missing"
	grep -q path_hex h.json
}

@test "report: --anonymize counts what it replaced; with =uuid the old UUID appears nowhere in it" {
	local src uuid
	src=$(fixture ext4-4k)
	uuid=$(dumpe2fs -h "$src" 2> /dev/null | sed -n 's/^Filesystem UUID: *//p')
	"$E2IMAGE" -r --anonymize=uuid --report=json:a.json "$src" a.raw 2> /dev/null
	check_consistent a.json
	[ "$(jq -r .options.names a.json)" = anonymized-uuid ]
	[ "$(jq '.anonymized.names > 0 and .anonymized.uuid' a.json)" = true ]
	[ "$(jq .filesystem.uuid a.json)" = null ]
	run grep -c "$uuid" a.json
	[ "$output" = 0 ]
	"$E2IMAGE" -r -s --report=json:s.json "$src" s.raw
	[ "$(jq -r .options.names s.json)" = scrambled ] && [ "$(jq .anonymized s.json)" = null ]
}

# damage CASE: a damaged copy of its fixture (tests/fixtures/make-damaged.sh)
damage() {
	local mk=$BATS_TEST_DIRNAME/fixtures/make-damaged.sh
	"$mk" "$1" "$(fixture "$("$mk" --base "$1")")" "$1.img" > /dev/null 2>&1
	printf '%s\n' "$1.img"
}

@test "report: a damaged source: each damaged inode listed with its number and reason, as warned and in the manifest; exit 2" {
	local img ino c
	for c in etb-garbage gd-itable-past-end orphan-loop; do
		img=$(damage $c)
		run "$E2IMAGE" -r --manifest=$c.man --report=json:$c.json "$img" $c.raw
		[ "$status" -eq 2 ] || fail "$c: status $status"
		check_consistent $c.json
		jq -e '.outcome == "incomplete" and .exit_status == 2 and .warnings.problems > 0' $c.json > /dev/null
		# the list is the warnings printed, in their order...
		diff <(jq -r '.warnings.list[].message' $c.json) \
		     <(printf '%s\n' "$output" | sed -n 's/^e2image: warning: //p' | grep -v '^the image of ')
		# ...and the manifest's problem lines; its counts are the report's
		diff <(jq -r '.warnings.list[].message' $c.json) <(sed -n 's/^problem: //p' $c.man)
		[ "$(key $c.man problems)" = "$(jq -r '.warnings | "\(.problems) (inodes \(.damaged_inodes), groups \(.damaged_groups), blocks \(.bad_blocks), other \(.other))"' $c.json)" ]
	done
	# the inode is a number of its own, the one debugfs gives the file
	ino=$(debugfs -R "stat /sparse" "$(fixture ext4-4k)" 2> /dev/null | awk '/^Inode:/ { print $2; exit }')
	jq -e --argjson i "$ino" '.warnings.list[0] | .kind == "inode" and .inode == $i and .count == 1 and (.message | length > 20)' etb-garbage.json > /dev/null
	jq -e '.warnings.list[0] | .kind == "group" and .group == 1' gd-itable-past-end.json > /dev/null
	jq -e '.warnings.list[0] | .kind == "other" and (has("inode") | not)' orphan-loop.json > /dev/null
	# the legacy format lists them too
	"$E2IMAGE" --report=json:l.json "$(damage gd-itable-past-end)" l.e2i 2> /dev/null || [ $? -eq 2 ]
	jq -e '.warnings.list[0].group == 1 and .outcome == "incomplete"' l.json > /dev/null
}

@test "report: hostile names: control bytes, quotes, backslashes and invalid UTF-8 are escaped; path_hex gives the bytes back" {
	local name hex
	name=$'we\nird"\\\x01\x1b[31m\xff\xc3\xa9\x7f'
	cp "$(fixture ext4-1k)" "$name"
	"$E2IMAGE" -r --report=json "$name" - 2> err > /dev/null
	[ "$(wc -l < err)" -eq 1 ]
	last_json err > r.json
	# strict parsers take it
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' r.json
	run grep -c $'\x1b' r.json
	[ "$output" = 0 ]
	hex=$(printf '%s' "$name" | od -An -tx1 | tr -d ' \n')
	[ "$(jq -r .source.path_hex r.json)" = "$hex" ]
	[ "$(jq -r '.command[3]' r.json)" = "$(jq -r .source.path r.json)" ]
	# valid UTF-8 stays as it is, with no _hex
	cp "$name" "é.img"
	"$E2IMAGE" -r --report=json:u.json "é.img" u.raw
	[ "$(jq -r .source.path u.json)" = "é.img" ]
	[ "$(jq '.source | has("path_hex")' u.json)" = false ]
}

@test "report: 64-bit counts are plain integers (a 2 TiB filesystem)" {
	truncate -s 2T big.img
	mke2fs -q -F -t ext4 -O ^has_journal -E lazy_itable_init=1,nodiscard big.img
	"$E2IMAGE" -r --report=json:b.json big.img big.raw
	grep -q '"bytes": 2199023255552,' b.json
	[ "$(jq .image.bytes b.json)" = 2199023255552 ]
	[ "$(jq .filesystem.blocks b.json)" = 536870912 ]
	check_consistent b.json
	rm -f big.img big.raw
}

@test "report: refused before anything is read: the source, the image, the manifest, the map, links, devices, directories, a missing directory, bad forms, a move, -I, --verify" {
	local src
	cp "$(fixture ext4-4k)" src.img
	cp src.img keep.img
	ln -s nowhere dangling
	mkdir dir
	for bad in src.img o.raw m.man map dangling /dev/stderr /dev/null dir missing/r.json; do
		run "$E2IMAGE" -r --manifest=m.man --anonymize --anonymize-map=map \
			--report=json:"$bad" src.img o.raw
		[ "$status" -eq 1 ] || fail "$bad: status $status"
		[[ "$output" == *"--report $bad"* ]] || fail "$bad: $output"
		[ ! -e o.raw ] && [ ! -e m.man ] && [ ! -e map ]
	done
	cmp src.img keep.img
	[ -L dangling ] && [ -d dir ]
	for form in xml json: jsonx JSON; do
		run "$E2IMAGE" -r --report="$form" src.img o.raw
		[ "$status" -eq 1 ]
		[[ "$output" == *"the form is json"* ]]
	done
	run "$E2IMAGE" -ra -O 4096 --report=json src.img
	[ "$status" -eq 1 ] && [[ "$output" == *"not with a move or -I"* ]]
	run "$E2IMAGE" -I --report=json src.img o.raw
	[ "$status" -eq 1 ] && [[ "$output" == *"not with a move or -I"* ]]
	run "$E2IMAGE" --verify --report=json o.raw
	[ "$status" -eq 1 ]
	cmp src.img keep.img
	[ ! -e o.raw ]
}

@test "report: a failed run still writes one: failed, exit status and error; a signal's status" {
	local src
	src=$(fixture ext4-4k)
	run "$E2IMAGE" -r --report=json:f.json "$src" missing/x.raw
	[ "$status" -eq 1 ]
	jq -e '.outcome == "failed" and .exit_status == 1 and .signal == null' f.json > /dev/null
	[[ "$(jq -r .error f.json)" == *"missing/x.raw"* ]]
	run "$E2IMAGE" -r --report=json:g.json nosuch.img x.raw
	[ "$status" -eq 1 ]
	jq -e '.outcome == "failed" and .filesystem == null and .captured == null' g.json > /dev/null
	[[ "$(jq -r .error g.json)" == *"nosuch.img"* ]]
	# stopped while the output (a FIFO nobody reads) blocks
	mkfifo fifo
	"$E2IMAGE" -ra --report=json:s.json "$src" fifo 3>&- &
	sleep 1
	kill -TERM $!
	wait $! || [ $? -eq 143 ]
	jq -e '.outcome == "failed" and .signal == 15 and .exit_status == 143' s.json > /dev/null
	# a report that was there is replaced whole, never left half-written
	echo old > f.json
	"$E2IMAGE" -r --report=json:f.json "$src" ok.raw
	jq -e '.outcome == "complete"' f.json > /dev/null
	[ -z "$(ls | grep '^f\.json\.')" ]
}
