#!/usr/bin/env bats
# completion.bats -- the bash completion (completion/e2image.bash): the
# options it offers are the ones `e2image --help` names, those that take a
# value are the ones the binary's getopt wants one for, values and partial
# words complete, operands are files and block devices where a filesystem is
# read (or, with -r, written). The function is called as bash calls it
# (COMP_WORDS, COMP_CWORD); one test drives a real interactive bash.

load common

COMPLETION=$BATS_TEST_DIRNAME/../completion/e2image.bash

setup() {
	cd "$BATS_TEST_TMPDIR"
	# shellcheck source=../completion/e2image.bash
	source "$COMPLETION"
	# compopt works only inside a completion bash started: record instead
	compopt() { COMPOPT="$COMPOPT $*"; }
	mkdir -p bin somedir
	touch img.raw other.img
	# two block devices, as lsblk -pnro NAME lists them
	printf '#!/bin/sh\nprintf "/dev/fakedisk\\n/dev/fakedisk1\\n"\n' > bin/lsblk
	chmod +x bin/lsblk
	PATH=$BATS_TEST_TMPDIR/bin:$PATH
}

# offered WORD...: what completing the last WORD of `e2image WORD...`
# offers, sorted, one a line
offered() {
	COMP_WORDS=(e2image "$@")
	COMP_CWORD=$#
	COMP_LINE="e2image $*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	COMPOPT=
	_e2image
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort
}

# is WORDS... :: EXPECTED...: offered WORDS is exactly EXPECTED
is() {
	local words=() want got
	while [ "$1" != "::" ]; do words+=("$1"); shift; done
	shift
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	got=$(offered "${words[@]}")
	[ "$got" = "$want" ] || fail "e2image ${words[*]}<TAB>: offered [$(echo $got)], want [$(echo $want)]"
}

# takes_value OPT: the completion takes the word after OPT for its value:
# in `OPT 1 2 <TAB>`, the word completed is the image (files), not a third
# operand (nothing)
takes_value() {
	offered "$1" 1 2 '' | grep -qx other.img
}

@test "completion: the options offered are the ones --help names, long and short" {
	diff <("$E2IMAGE" --help | grep -oE -- '--[a-z0-9][-a-z0-9]*' | sort -u) \
		<(offered -- | sed 's/=$//' | sort -u) || fail "long options: --help (<) and the completion (>) differ"
	diff <("$E2IMAGE" --help | sed -nE 's/^  (-[a-zA-Z]), --.*/\1/p' | sort -u) \
		<(offered - | grep -E '^-[a-zA-Z]$') || fail "short options: --help (<) and the completion (>) differ"
}

@test "completion: an option is offered with '=' when the binary wants a value for it, and its value is not taken for an operand" {
	local o out
	for o in $(offered -- | sed 's/=$//' | sort -u); do
		out=$("$E2IMAGE" "$o" 2>&1 < /dev/null) || true
		if offered -- | grep -qx -- "$o="; then
			offered -- | grep -qx -- "$o" && continue   # optional: both offered
			[[ $out == *"requires an argument"* ]] || fail "$o: offered as $o= but: $out"
			takes_value "$o" || fail "$o VALUE: the value is taken for an operand"
		else
			out=$("$E2IMAGE" "$o=x" 2>&1) || true
			[[ $out == *"allow an argument"* ]] || fail "$o: offered without a value but: $out"
			takes_value "$o" && fail "$o: the word after it is taken for its value"
		fi
	done
	for o in $(offered - | grep -E '^-[a-zA-Z]$'); do
		out=$("$E2IMAGE" "$o" 2>&1) || true
		if [[ $out == *"requires an argument"* ]]; then
			takes_value "$o" || fail "$o VALUE: the value is taken for an operand"
			takes_value "-r$o" || fail "-r$o VALUE: the value is taken for an operand"
		else
			takes_value "$o" && fail "$o: the word after it is taken for its value"
		fi
	done
	true
}

@test "completion: partial options complete; a lone NAME= match leaves no space" {
	is --comp :: --compress --compress= --compress-buffer=
	is --ano :: --anonymize --anonymize= --anonymize-map=
	is --qcow2 :: --qcow2 --qcow2-version=
	is --no-such :: ''
	offered --super > /dev/null
	[[ $COMPOPT == *nospace* ]] || fail "--super: no nospace ($COMPOPT)"
	offered - | grep -qx -- -Q || fail "- does not offer -Q"
	offered - | grep -qx -- --raw || fail "- does not offer --raw"
}

@test "completion: values, as --NAME=VALUE in one word, split at '=' (as bash splits it) and as --NAME VALUE" {
	is --compress=z :: --compress=zlib --compress=zstd
	is --compress = :: zlib zstd
	is --compress = zs :: zstd
	is --anonymize= :: --anonymize=uuid
	is --qcow2-version '' :: 2 3
	is -B 4 :: 4096
	is -QB '' :: 1024 2048 4096 8192 16384 32768 65536
	is --blocksize = 6 :: 65536
	is --cluster-size 6 :: 64k
	is --superblock '' :: ''
	is -b '' :: ''
	is --raw= :: ''
	# a file, the path in the same word or split from it
	is --manifest=img :: --manifest=img.raw
	is --manifest = img :: img.raw
	is --move-journal som :: somedir
	offered --move-journal som > /dev/null
	[[ $COMPOPT == *filenames* ]] || fail "a file value: no filenames option ($COMPOPT)"
	# compress levels after ':' are the user's: not taken for an operand
	is --compress = zstd : 3 /dev/fake :: /dev/fakedisk /dev/fakedisk1
}

@test "completion: operands: block devices and files for the source, files for the image (and devices with -r)" {
	is /dev/fake :: /dev/fakedisk /dev/fakedisk1
	is '' :: /dev/fakedisk /dev/fakedisk1 bin img.raw other.img somedir
	is -Q /dev/fakedisk o :: other.img
	is -Q /dev/fakedisk /dev/fake :: ''
	is -ra /dev/fakedisk /dev/fake :: /dev/fakedisk /dev/fakedisk1
	is --raw img.raw /dev/fakedisk1 :: /dev/fakedisk1
	is -b 32768 -B 4096 /dev/fake :: /dev/fakedisk /dev/fakedisk1
	is -b32768 /dev/fakedisk o :: other.img
	is -I /dev/fakedisk1 /dev/fake :: ''
	is -I /dev/fakedisk1 img :: img.raw
	is --verify /dev/fake :: ''
	is --verify img :: img.raw
	is --verify img.raw '' :: ''
	is --source /dev/fake :: /dev/fakedisk /dev/fakedisk1
	is img.raw other.img '' :: ''
	# after --, a word that starts with - is an operand
	touch ./-odd
	is -- -o :: -odd
	offered /dev/fake > /dev/null
	[[ $COMPOPT == *filenames* ]] || fail "operands: no filenames option ($COMPOPT)"
}

@test "completion: without lsblk, the block devices are those of /dev" {
	local devices d
	devices=$(PATH=/nonexistent; _e2image_devices)
	for d in $devices; do
		[ -b "$d" ] || fail "$d is not a block device"
	done
	! grep -qx /dev/null <<< "$devices" || fail "/dev/null offered"
}

@test "completion: registered for the name the command is installed as" {
	local name
	name=$(sed -n 's/.*\$(DESTDIR)\$(sbindir)\/\([^ ]*\)$/\1/p' "$BATS_TEST_DIRNAME/../e2image/Makefile.in" | head -n 1)
	[ -n "$name" ] || fail "no install line in e2image/Makefile.in"
	[[ $(complete -p "$name") == *"-F _e2image $name" ]] || fail "$(complete -p "$name" 2>&1)"
}

@test "completion: an interactive bash completes through readline (words split at '=' and ':', names with spaces)" {
	python3 -c 'import os; os.openpty()' 2> /dev/null || skip "no python3, or no pseudo-terminal"
	touch 'a b.img' x:y.img
	run python3 "$BATS_TEST_DIRNAME/complete-pty.py" "$COMPLETION" \
		'e2image --compress=zs' 'e2image --qcow2-v' 'e2image --manifest=som' \
		'e2image -r im' 'e2image --compress=zstd:3 im' 'e2image x:' 'e2image -Q a' \
		'e2image --manifest x:'
	[ "$status" -eq 0 ] || fail "$output"
	diff - <(printf '%s\n' "$output") <<-'EOF'
	e2image --compress=zstd 
	e2image --qcow2-version=
	e2image --manifest=somedir/
	e2image -r img.raw 
	e2image --compress=zstd:3 img.raw 
	e2image x:y.img 
	e2image -Q a\ b.img 
	e2image --manifest x:y.img 
	EOF
}
