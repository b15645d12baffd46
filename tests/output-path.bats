#!/usr/bin/env bats
# output-path.bats -- where the image goes when the output path already
# exists: files and symlinks planted by another user in a sticky
# world-writable directory are refused (whatever fs.protected_regular and
# fs.protected_symlinks say); a replaced file keeps its owner, group and
# permission bits but never setuid/setgid; a new image is mode 0600; a
# symlink is written through (its target gets the image, the link stays);
# errors of close() and of -n -c's comparison file are reported.
#
# Runs as root, with uid/gid 65534 as the other user (setpriv). The
# directories the other user works in come from plain `mktemp -d` (bats'
# own temporary directories are closed to other users).
#
# Reference images come from the oracle (raw images of a healthy filesystem
# are byte-identical).

load common

setup_file() {
	local d=$BATS_FILE_TMPDIR
	[ "$(id -u)" = 0 ] || return 0
	SRC=$(fixture ext4-4k) || return 1
	"$ORACLE" -r "$SRC" "$d/ref.raw" 2> /dev/null || return 1
	"$ORACLE" -ra "$SRC" "$d/ref-a.raw" 2> /dev/null || return 1
	# an older image: blocks 0 and 1 differ, the rest is as now
	cp --sparse=always "$d/ref.raw" "$d/stale.raw"
	printf 'stale%.0s' $(seq 1000) | dd of="$d/stale.raw" bs=4096 count=2 conv=notrunc,sync status=none
	cmp -s "$d/ref.raw" "$d/stale.raw" && return 1
	return 0
}

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root: files are planted as another user (setpriv)"
	SRC=$(fixture ext4-4k)
	REF=$BATS_FILE_TMPDIR/ref.raw
	REF_A=$BATS_FILE_TMPDIR/ref-a.raw
	STALE=$BATS_FILE_TMPDIR/stale.raw
	D=$(mktemp -d)
	chmod 755 "$D"
	cd "$D"
}

teardown() {
	cd /
	[ -z "${D:-}" ] || rm -rf "$D"
}

# as_other CMD...: run a shell command as uid/gid 65534, no groups
as_other() {
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "$1"
}

# other_can_run: skip unless uid 65534 can run the binary on the fixture
other_can_run() {
	as_other "test -x '$E2IMAGE' && test -r '$SRC'" ||
		skip "uid 65534 cannot reach $E2IMAGE or $SRC"
}

# info FILE: owner, group, octal mode, content hash (lstat: a link is itself)
info() {
	local s
	s=$(stat -c '%u %g %a %F' "$1") || return 1
	if [ -L "$1" ]; then
		printf '%s -> %s\n' "$s" "$(readlink "$1")"
	else
		printf '%s %s\n' "$s" "$(sha "$1")"
	fi
}

# sticky_dir: a world-writable sticky directory, like /tmp
sticky_dir() {
	mkdir -m 1777 "$1"
	chmod 1777 "$1"
}

@test "output-path: a setuid file planted by another user in a sticky directory is refused and left untouched" {
	sticky_dir t
	as_other 'printf "#!/bin/sh\n" > t/evil.raw; chmod 6755 t/evil.raw'
	before=$(info t/evil.raw)
	[[ "$before" == "65534 65534 6755 "* ]]
	run "$E2IMAGE" -r "$SRC" t/evil.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"t/evil.raw"*"sticky world-writable directory"* ]]
	[ "$(info t/evil.raw)" = "$before" ]
	[ "$(ls -A t)" = evil.raw ] || fail "left behind: $(ls -A t)"
}

@test "output-path: a world-writable file planted by another user in a sticky directory is refused by every mode that would open it" {
	sticky_dir t
	as_other 'echo planted > t/w.raw; chmod 0666 t/w.raw'
	before=$(info t/w.raw)
	for args in "-r" "-rc" "-ra -O 4096" "-rn -c" "-Q"; do
		run "$E2IMAGE" $args "$SRC" t/w.raw
		[ "$status" -eq 1 ] || fail "$args: exit $status"
		[[ "$output" == *"refusing t/w.raw, owned by uid 65534"* ]] || fail "$args: $output"
		[[ "$output" != *"Writing block"* ]] || fail "$args listed blocks"
		[ "$(info t/w.raw)" = "$before" ] || fail "$args changed it: $(info t/w.raw)"
		[ "$(ls -A t)" = w.raw ] || fail "$args left: $(ls -A t)"
	done
}

@test "output-path: --report, --manifest and --anonymize-map files planted by another user in a sticky directory are refused and left untouched" {
	sticky_dir t
	as_other 'for f in r m a; do echo planted > t/$f; done'
	for opt in "--report=json:t/r" "--manifest=t/m" "--anonymize --anonymize-map=t/a"; do
		f=${opt##*[=:]}
		before=$(info "$f")
		run "$E2IMAGE" -r $opt "$SRC" out.raw
		[ "$status" -eq 1 ] || fail "$opt: exit $status"
		[[ "$output" == *"refusing $f, owned by uid 65534"* ]] || fail "$opt: $output"
		[ "$(info "$f")" = "$before" ] || fail "$opt changed it: $(info "$f")"
		[ ! -e out.raw ] || fail "$opt: an image was written"
	done
	[ "$(ls -A t | tr '\n' ' ')" = "a m r " ] || fail "left: $(ls -A t)"
	# our own files there are written as before
	"$E2IMAGE" -r --report=json:t/mine.json --manifest=t/mine.man "$SRC" out.raw
	[ -s t/mine.json ] && [ -s t/mine.man ]
}

@test "output-path: a FIFO planted by another user in a sticky directory is refused, not written to" {
	sticky_dir t
	as_other 'mkfifo -m 0622 t/fifo'
	run timeout 20 "$E2IMAGE" -r "$SRC" t/fifo
	[ "$status" -eq 1 ]
	[[ "$output" == *"refusing t/fifo, owned by uid 65534"* ]]
	[ -p t/fifo ]
	[ "$(ls -A t)" = fifo ]
}

@test "output-path: in a sticky directory, files of ours and of the directory's owner are replaced" {
	sticky_dir t
	echo mine > t/ours.raw
	"$E2IMAGE" -r "$SRC" t/ours.raw
	cmp "$REF" t/ours.raw
	# a sticky world-writable directory of user 65534's, with its file
	mkdir -m 1777 u
	chown 65534:65534 u
	as_other 'echo theirs > u/theirs.raw; chmod 0640 u/theirs.raw'
	"$E2IMAGE" -r "$SRC" u/theirs.raw
	cmp "$REF" u/theirs.raw
	[ "$(stat -c '%u %g %a' u/theirs.raw)" = "65534 65534 640" ]
	[ "$(ls -A t u | tr '\n' ' ')" = "t: ours.raw  u: theirs.raw " ]
}

@test "output-path: a file replaced in another user's directory keeps its owner and group, and its mode without setuid/setgid" {
	mkdir o
	chown 65534:65534 o
	as_other 'echo old > o/img.raw; chmod 6755 o/img.raw'
	"$E2IMAGE" -r "$SRC" o/img.raw
	[ "$(stat -c '%u %g %a %F' o/img.raw)" = "65534 65534 755 regular file" ]
	cmp "$REF" o/img.raw
	[ "$(ls -A o)" = img.raw ]
}

@test "output-path: a user who cannot give the file back its group keeps only the owner's permission bits" {
	other_can_run
	mkdir o
	chown 65534:65534 o
	echo old > o/img.raw
	chown 65534:0 o/img.raw
	chmod 0664 o/img.raw
	as_other "'$E2IMAGE' -r '$SRC' o/img.raw"
	# not in group 0: the file became 65534:65534, the group and other
	# bits the old file gave group 0 are not carried over
	[ "$(stat -c '%u %g %a' o/img.raw)" = "65534 65534 600" ]
	cmp "$REF" o/img.raw
	[ "$(ls -A o)" = img.raw ]
}

@test "output-path: replacing a file with a second hard link: the name gets the image, the other link keeps the old bytes, no temporary is left" {
	cp --sparse=always "$STALE" old.raw
	ln old.raw keep.raw
	for mode in -r -Q; do
		run "$E2IMAGE" $mode "$SRC" old.raw
		[ "$status" -eq 0 ] || fail "$mode: $output"
		[ "$(stat -c %h old.raw)" = 1 ] || fail "$mode: old.raw still has $(stat -c %h old.raw) links"
		cmp -s keep.raw "$STALE" || fail "$mode: the other link's bytes changed"
		[ "$(ls -A | sort | tr '\n' ' ')" = "keep.raw old.raw " ] || fail "$mode left: $(ls -A)"
	done
	"$E2IMAGE" -r "$SRC" old.raw
	cmp old.raw "$REF"
}

@test "output-path: a new image is created mode 0600, as e2fsprogs creates it" {
	(umask 022; "$E2IMAGE" -r "$SRC" new.raw)
	(umask 022; "$ORACLE" -r "$SRC" oracle.raw 2> /dev/null)
	[ "$(stat -c '%u %g %a' new.raw)" = "0 0 600" ]
	[ "$(stat -c '%a' new.raw)" = "$(stat -c '%a' oracle.raw)" ]
	cmp "$REF" new.raw
	(umask 022; "$E2IMAGE" -Q "$SRC" new.qcow2)
	[ "$(stat -c '%a' new.qcow2)" = 600 ]
}

@test "output-path: a symlink to an existing file is written through: the link stays, its target holds the image" {
	mkdir a
	# longer than the image: nothing of it may survive past the image's end
	truncate -s 70M a/target.raw
	echo old | dd of=a/target.raw bs=1M seek=69 conv=notrunc status=none
	chmod 0644 a/target.raw
	ln -s a/target.raw link.raw
	"$E2IMAGE" -r "$SRC" link.raw
	[ "$(info link.raw)" = "0 0 777 symbolic link -> a/target.raw" ]
	[ "$(stat -c '%a %F' a/target.raw)" = "644 regular file" ]
	cmp "$REF" a/target.raw
	[ "$(ls -A . a | tr '\n' ' ')" = ".: a link.raw  a: target.raw " ]
}

@test "output-path: a dangling symlink creates its target" {
	mkdir a
	ln -s a/made.raw link.raw
	"$E2IMAGE" -r "$SRC" link.raw
	[ -L link.raw ]
	[ "$(readlink link.raw)" = a/made.raw ]
	[ "$(stat -c '%u %g %a %F' a/made.raw)" = "0 0 600 regular file" ]
	cmp "$REF" a/made.raw
	[ "$(ls -A a)" = made.raw ]
}

@test "output-path: a chain of symlinks, relative, absolute and through a linked directory, reaches the target" {
	mkdir -p real/deep
	echo old > real/deep/img.raw
	ln -s "$D/real" dirlink                  # absolute, to a directory
	ln -s ../dirlink/deep/img.raw real/l1    # relative, through dirlink
	ln -s real/l1 l2
	"$E2IMAGE" -r "$SRC" l2
	cmp "$REF" real/deep/img.raw
	[ -L l2 ] && [ -L real/l1 ] && [ -L dirlink ]
	[ "$(ls -A real/deep)" = img.raw ]
	# the same through the linked directory, to a new file
	"$E2IMAGE" -r "$SRC" dirlink/deep/new.raw
	cmp "$REF" real/deep/new.raw
	[ "$(ls -A real/deep | tr '\n' ' ')" = "img.raw new.raw " ]
}

@test "output-path: a symlink planted by another user in a sticky directory is refused, its target untouched" {
	sticky_dir t
	mkdir safe
	echo precious > safe/file
	before=$(info safe/file)
	as_other "ln -s '$D/safe/file' t/link; ln -s '$D/safe' t/dir"
	for out in t/link t/dir/file t/dir/new.raw; do
		for args in "-r" "-rc" "-ra -O 4096"; do
			run "$E2IMAGE" $args "$SRC" "$out"
			[ "$status" -eq 1 ] || fail "$args $out: exit $status"
			[[ "$output" == *"refusing to follow the symlink t/"*"owned by uid 65534"* ]] ||
				fail "$args $out: $output"
		done
	done
	[ "$(info safe/file)" = "$before" ]
	[ "$(ls -A safe)" = file ]
	[ "$(ls -A t | tr '\n' ' ')" = "dir link " ]
	# our own link in the same directory is followed
	ln -s "$D/safe/file" t/mine
	"$E2IMAGE" -r "$SRC" t/mine
	cmp "$REF" safe/file
}

@test "output-path: /dev/stdout and /dev/fd/N on a pipe are streams, not paths to replace" {
	"$E2IMAGE" -r "$SRC" /dev/stdout | cmp - "$REF"
	"$E2IMAGE" -r "$SRC" /dev/fd/3 3>&1 | cmp - "$REF"
	# on a regular file, /dev/stdout leads to that file: it gets the image
	"$E2IMAGE" -r "$SRC" /dev/stdout > out.raw
	cmp "$REF" out.raw
	[ -L /dev/stdout ]
	[ "$(ls -A)" = out.raw ]
}

@test "output-path: -rc through a symlink updates the target in place" {
	mkdir a
	cp --sparse=always "$STALE" a/img.raw
	ino=$(stat -c %i a/img.raw)
	ln -s a/img.raw link.raw
	run "$E2IMAGE" -rc "$SRC" link.raw
	[ "$status" -eq 0 ]
	[[ "$output" == *"blocks already contained the data to be copied"* ]]
	cmp "$REF" a/img.raw
	[ "$(stat -c %i a/img.raw)" = "$ino" ]
	[ "$(readlink link.raw)" = a/img.raw ]
}

@test "output-path: -ra -O N through a symlink writes into the target at offset N" {
	n=1048576
	mkdir a
	head -c $n /dev/zero | tr '\0' P > a/disk.img
	ino=$(stat -c %i a/disk.img)
	ln -s a/disk.img link.img
	"$E2IMAGE" -ra -O $n "$SRC" link.img
	[ "$(stat -c %i a/disk.img)" = "$ino" ]
	[ "$(head -c $n a/disk.img | tr -d P | wc -c)" -eq 0 ]
	tail -c +$((n + 1)) a/disk.img | cmp - "$REF_A"
	[ "$(stat -c %s a/disk.img)" -eq $((n + $(stat -c %s "$REF_A"))) ]
	[ "$(readlink link.img)" = a/disk.img ]
}

# e2fsprogs' -n -c on a missing file creates it empty, then loops forever
# reading past its end (checked: it never returns). We list every block, as
# the real run would write them all to the new file, and create nothing.
@test "output-path: -n -c with a missing comparison file lists every block, as -n to a new file does, and creates nothing" {
	"$ORACLE" -rn "$SRC" oracle.raw > oracle.txt 2> /dev/null
	grep -q '^Writing block' oracle.txt
	# the -c summary line, in e2fsprogs' words
	printf '0 blocks already contained the data to be copied\n' >> oracle.txt
	run "$E2IMAGE" -rn -c "$SRC" missing.raw
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat oracle.txt)" ]
	[ ! -e missing.raw ]
	ln -s nothere.raw dangling
	run "$E2IMAGE" -rn -c "$SRC" dangling
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat oracle.txt)" ]
	[ ! -e nothere.raw ] && [ -L dangling ]
}

# An existing comparison file that cannot be read fails, as in e2fsprogs
# ("Permission denied while trying to open FILE"), with nothing listed.
@test "output-path: -n -c with an unreadable comparison file fails naming it, as e2fsprogs does" {
	other_can_run
	cp "$STALE" cmp.raw
	chmod 0600 cmp.raw
	before=$(info cmp.raw)
	run as_other "'$E2IMAGE' -rn -c '$SRC' cmp.raw"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Permission denied"*"cmp.raw"* ]]
	[[ "$output" != *"Writing block"* ]]
	run as_other "'$ORACLE' -rn -c '$SRC' cmp.raw"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Permission denied"*"cmp.raw"* ]]
	[ "$(info cmp.raw)" = "$before" ]
}

@test "output-path: an in-place output whose close fails is reported, exit 1" {
	shim=$TESTS_BUILDDIR/fault/libeio.so
	[ -f "$shim" ] || fail "no $shim (make -C tests all)"
	cp --sparse=always "$STALE" img.raw
	run env LD_PRELOAD="$shim" E2I_FAULT_PATH=img.raw E2I_FAULT_CLOSE=1 \
		"$E2IMAGE" -rc "$SRC" img.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"Input/output error while closing img.raw"* ]]
	# the writes were made; only their report failed
	cmp "$REF" img.raw
}
