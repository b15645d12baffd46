#!/usr/bin/env python3
"""complete-pty.py SCRIPT LINE...: for each LINE, what an interactive bash
(no startup files) on a terminal makes of it after SCRIPT is sourced, LINE
is typed and TAB pressed once: the edited line, one per output line.

Readline itself splits the words (at '=' and ':' too), calls the completion
function and inserts its answer; a key bound to print $READLINE_LINE shows
the result. Used by completion.bats. Exits 1 when bash does not answer
within 20 seconds."""
import os
import pty
import re
import select
import sys
import time

MARK = re.compile(rb"<<LINE:(.*?)>>")


def read_until(fd, pattern, timeout=20.0):
    """Read from fd until pattern matches what was read; return the match."""
    out = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        m = pattern.search(out)
        if m:
            return m
    sys.exit("complete-pty: no answer from bash; it printed: %r" % out[-500:])


def complete(script, line):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
    try:
        # C-t prints the line being edited; the printf's output, not the
        # echo of the command typed, carries the READY word
        os.write(fd, b"PS1='$ '; bind 'set bell-style none'; "
                 b"bind -x '\"\\C-t\": printf \"<<LINE:%s>>\\n\" \"$READLINE_LINE\"'; "
                 b"source '" + script.encode() + b"'; printf 'RE%s\\n' ADY\n")
        read_until(fd, re.compile(rb"READY"))
        os.write(fd, line.encode() + b"\t\x14")
        return read_until(fd, MARK).group(1).decode()
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def main():
    script = os.path.abspath(sys.argv[1])
    for line in sys.argv[2:]:
        print(complete(script, line))


if __name__ == "__main__":
    main()
