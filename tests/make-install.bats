#!/usr/bin/env bats
# make-install.bats -- `make install` and `make uninstall` of the build
# (not e2image -I, which is install.bats): the command, the man page and the
# bash completion land under DESTDIR, the completion under the name the
# command is installed as and registered for it; uninstall leaves no file.

load common

setup() {
	TOP=$TESTS_BUILDDIR/..
	[ -f "$TOP/Makefile" ] && [ -f "$TOP/completion/Makefile" ] || skip "no configured build in $TOP"
	D=$BATS_TEST_TMPDIR/dest
}

# mk ARGS...: make in the build's top directory, as a user would run it (not
# as a child of the make running the tests)
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TOP" "$@"
}

@test "make install: the command, the man page and the bash completion under DESTDIR; make uninstall removes them all" {
	local bin comp name
	mk install DESTDIR="$D" prefix=/usr
	bin=$(find "$D" -type f -path '*/sbin/*')
	[ "$bin" = "$D/usr/sbin/e2image" ] || fail "the command: $bin"
	cmp "$bin" "$TOP/e2image/e2image" || fail "$bin is not the binary built"
	[ -f "$D/usr/share/man/man8/e2image.8" ] || fail "no man page: $(find "$D" -type f)"
	comp=$(find "$D" -type f -path '*/bash-completion/completions/*')
	[ -n "$comp" ] || fail "no completion: $(find "$D" -type f)"
	name=${bin##*/}
	[ "${comp##*/}" = "$name" ] || fail "the completion $comp is not named as the command ($name)"
	cmp "$comp" "$BATS_TEST_DIRNAME/../completion/e2image.bash"
	# bash-completion sources the file when $name is completed: it must
	# register itself for $name
	[[ $(bash -c 'source "$1" && complete -p "$2"' _ "$comp" "$name") == *"-F _e2image $name" ]] ||
		fail "$comp does not register a completion for $name"
	mk uninstall DESTDIR="$D" prefix=/usr
	[ -z "$(find "$D" -type f)" ] || fail "left after uninstall: $(find "$D" -type f)"
}

@test "make install: the completion goes under the prefix unless its directory was named; bashcompletiondir= installs none" {
	local dir
	dir=$(sed -n 's/^bashcompletiondir = //p' "$TOP/completion/Makefile")
	if [[ $dir == '${datadir}'* ]]; then
		mk install DESTDIR="$D" prefix=/opt/e2i
		[ -f "$D/opt/e2i/share/bash-completion/completions/e2image" ] ||
			fail "not under the prefix: $(find "$D" -type f)"
		mk uninstall DESTDIR="$D" prefix=/opt/e2i
	fi
	mk install DESTDIR="$D" bashcompletiondir=/etc/somewhere
	[ -f "$D/etc/somewhere/e2image" ] || fail "bashcompletiondir=/etc/somewhere: $(find "$D" -type f)"
	mk uninstall DESTDIR="$D" bashcompletiondir=/etc/somewhere
	mk install DESTDIR="$D" bashcompletiondir=
	! find "$D" -type f | grep -q bash-completion || fail "installed with bashcompletiondir=: $(find "$D" -type f)"
	mk uninstall DESTDIR="$D" bashcompletiondir=
	[ -z "$(find "$D" -type f)" ] || fail "left after uninstall: $(find "$D" -type f)"
}
