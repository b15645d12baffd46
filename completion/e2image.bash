# bash completion for e2image (e2image-ng)                   -*- shell-script -*-
#
# Installed as bash-completion/completions/e2image, loaded by bash-completion
# the first time e2image is completed; `source` it to try it by hand. It needs
# nothing from bash-completion itself.
#
# The option lists at the top of _e2image are the only place completion knows
# options from: tests/completion.bats fails when `e2image --help` names an
# option they lack, or they name one --help does not.

# _e2image_devices: block devices, full paths (lsblk's when it is there:
# /dev also holds loop devices with nothing attached).
_e2image_devices()
{
	local d
	if type -P lsblk > /dev/null; then
		lsblk -pnro NAME 2> /dev/null
		return
	fi
	for d in /dev/* /dev/mapper/*; do
		if [ -b "$d" ]; then
			printf '%s\n' "$d"
		fi
	done
}

# _e2image_values OPT VALUE: the completions of VALUE as OPT's value, one a
# line (OPT is the long name, or the short option letter).
_e2image_values()
{
	local v=$2 words=
	case $1 in
	superblock | b | src-offset | o | dest-offset | O | threads | compress-buffer)
		return ;;   # a number: nothing to offer
	blocksize | B) words='1024 2048 4096 8192 16384 32768 65536' ;;
	qcow2-version) words='2 3' ;;
	cluster-size) words='512 1k 2k 4k 8k 16k 32k 64k 128k 256k 512k 1M 2M' ;;
	compress) words='zlib zstd' ;;
	anonymize) words='uuid' ;;
	report)   # json (stderr), json:- or json:FILE
		if [[ $v == json:* ]]; then
			compgen -f -P json: -- "${v#json:}"
			return
		fi
		words='json json:- json:' ;;
	source)
		compgen -W "$(_e2image_devices)" -- "$v"
		compgen -f -- "$v"
		return ;;
	*)  # anonymize-map, manifest, move-journal: a file
		compgen -f -- "$v"
		return ;;
	esac
	compgen -W "$words" -- "$v"
}

# _e2image_filenames OPT: readline is told the values of OPT are file names
# (quoted as such, a '/' after a directory).
_e2image_filenames()
{
	case $1 in
	anonymize-map | manifest | move-journal | source) compopt -o filenames ;;
	esac
}

# _e2image_words: COMP_WORDS up to the cursor with the words bash split at
# '=' and ':' (COMP_WORDBREAKS) glued back, into the array _e2image_w.
_e2image_words()
{
	local i word glue=
	_e2image_w=()
	for ((i = 0; i <= COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ $i -gt 0 && ( $word =~ ^[=:]+$ || -n $glue ) ]]; then
			_e2image_w[-1]+=$word
			[[ $word =~ ^[=:]+$ ]] && glue=1 || glue=
			continue
		fi
		_e2image_w+=("$word")
	done
}

_e2image()
{
	# Long options; NAME= takes a value (--NAME=VALUE or --NAME VALUE), and
	# --compress and --anonymize take one only as --NAME=VALUE.
	local long=(raw qcow2 qcow2-version= cluster-size= compress compress=
		threads= compress-buffer= install all-data scramble anonymize anonymize=
		anonymize-map= superblock= blocksize= src-offset= dest-offset= check
		dry-run progress move-journal= move-abort force sync strict verbose
		manifest= report= verify source= help version)
	local short=(-r -Q -z -I -a -s -b -B -o -O -c -n -p -f -v -h -V)
	# Short options followed by a value (getopt's "b:B:o:O:").
	local short_arg='bBoO'
	local _e2image_w cur word opt i n=0 options=1 raw= install= verify= value=
	local replies=() prev prefix rl
	_e2image_words
	cur=${_e2image_w[-1]}

	# What the words before the cursor are: options, their values, and how
	# many operands (the source, then the image).
	for ((i = 1; i < ${#_e2image_w[@]} - 1; i++)); do
		word=${_e2image_w[i]}
		if [[ -n $value ]]; then
			value=
		elif [[ -z $options || $word != -?* ]]; then
			n=$((n + 1))
		elif [[ $word == -- ]]; then
			options=
		elif [[ $word == --* ]]; then
			opt=${word#--}
			case ${opt%%=*} in
			raw) raw=1 ;;
			install) install=1 ;;
			verify) verify=1 ;;
			esac
			[[ $opt != *=* && " ${long[*]} " == *" $opt= "* &&
				$opt != compress && $opt != anonymize ]] && value=1
		else
			# letters up to the first that takes a value, which takes
			# the rest of the word, or the next word when it ends it
			word=${word#-}
			while [[ -n $word ]]; do
				case ${word:0:1} in
				r) raw=1 ;;
				I) install=1 ;;
				["$short_arg"])
					[[ ${#word} -eq 1 ]] && value=1
					break ;;
				esac
				word=${word:1}
			done
		fi
	done

	[[ ${#_e2image_w[@]} -gt 1 ]] || return 0
	prev=${_e2image_w[-2]}
	if [[ -n $value ]]; then
		# cur is the value of the option before it
		if [[ $prev == --* ]]; then
			opt=${prev#--}
		else
			opt=${prev: -1}
		fi
		mapfile -t replies < <(_e2image_values "$opt" "$cur")
		_e2image_filenames "$opt"
	elif [[ -n $options && $cur == --*=* ]]; then
		opt=${cur%%=*}
		[[ " ${long[*]} " == *" ${opt#--}= "* ]] || return 0
		mapfile -t replies < <(_e2image_values "${opt#--}" "${cur#*=}")
		replies=("${replies[@]/#/$opt=}")
		_e2image_filenames "${opt#--}"
	elif [[ -n $options && $cur == -* ]]; then
		mapfile -t replies < <(compgen -W "${short[*]} ${long[*]/#/--}" -- "$cur")
		[[ ${#replies[@]} -eq 1 && ${replies[0]} == *= ]] && compopt -o nospace
	else
		# an operand: the source (with -I, the target; with --verify, the
		# image), then the image (with -r, a device too: -ra clones)
		if [[ -z $verify && ( $n -eq 0 || ( $n -eq 1 && -n $raw && -z $install ) ) ]]; then
			mapfile -t replies < <(compgen -W "$(_e2image_devices)" -- "$cur")
		fi
		if [[ $n -eq 0 || ( $n -eq 1 && -z $verify ) ]]; then
			mapfile -t -O ${#replies[@]} replies < <(compgen -f -- "$cur")
			compopt -o filenames
		fi
	fi

	# Bash replaces only the part of the word after the last '=' or ':'.
	rl=${COMP_WORDS[COMP_CWORD]}
	[[ $rl =~ ^[=:]+$ ]] && rl=
	prefix=${cur%"$rl"}
	COMPREPLY=("${replies[@]#"$prefix"}")
}

complete -F _e2image e2image
