#!/usr/bin/env python3
"""progress-check.py -- reads e2image -p's stderr the way its readers do.

  progress-check.py (--tty | --pipe) [--check] [--trailer] [--phase TEXT]...
                    --total M... FILE
      FILE is the stderr of one run, on a terminal (as `script` recorded it)
      or not (a file). Every "Copying N / M blocks (P%)" status and every
      final "Copied N / M blocks (P%) in HH:MM:SS" line must be well formed;
      within one count M stays the same, N never goes back, P is N/M in
      whole percent; each count ends with "Copied M / M blocks (100%)", and
      the counts' M are the --total values, in order. Each --phase line must
      come, on a line of its own, before the first status. Off a terminal
      there is no \\r or \\b, and GParted's reading of the text (below) finds
      the final line. The last line is a final line (--trailer: a report
      may follow it). --check: --verify's words, "Checking" and "Checked".

  progress-check.py --gparted --total M
      Reads stderr live from stdin, 512 bytes at a time, as GParted does
      (PipeCapture.cc, then ext2::copy_progress: the text after the last
      newline, scanned with "Copying %lld / %lld blocks"; "\\nCopied " stops
      the bar), and says how many different statuses it saw.

Prints what is wrong and exits 1, or exits 0.
"""
import argparse
import os
import re
import sys


class PipeCapture:
    """GParted's PipeCapture: \\b steps back a character, \\r to the start
    of the line; the next character overwrites from there."""

    def __init__(self):
        self.buff = []
        self.back = 0
        self.linelen = 0

    def feed(self, text):
        for ch in text:
            if ch == '\b':
                self.back += 1
            elif ch == '\r':
                self.back = self.linelen
            elif ch == '\n':
                self.buff.append('\n')
                self.linelen = 0
                self.back = 0
            else:
                if self.back:
                    del self.buff[len(self.buff) - self.back:]
                    self.linelen -= self.back
                    self.back = 0
                self.buff.append(ch)
                self.linelen += 1

    def text(self):
        return ''.join(self.buff)


# GParted's sscanf("Copying %lld / %lld blocks") on the last line
GPARTED = re.compile(r'^Copying\s*([-+]?\d+)\s*/\s*([-+]?\d+)\s*blocks')


def last_line(text):
    return text[text.rfind('\n') + 1:]


def gparted(total):
    cap = PipeCapture()
    seen = []
    while True:
        chunk = os.read(0, 512)
        if not chunk:
            break
        cap.feed(chunk.decode())
        m = GPARTED.match(last_line(cap.text()))
        if m:
            n, t = int(m.group(1)), int(m.group(2))
            if not seen or seen[-1] != (n, t):
                seen.append((n, t))
    errors = []
    if not seen:
        errors.append('GParted saw no status')
    if any(t != total for _, t in seen):
        errors.append('GParted saw totals %s, not %d' % (sorted({t for _, t in seen}), total))
    if any(b[0] < a[0] for a, b in zip(seen, seen[1:])):
        errors.append('GParted saw the count go back: %s' % seen)
    if '\nCopied ' not in cap.text():
        errors.append('GParted never saw "\\nCopied ": its bar would not stop')
    print('statuses %d' % len(seen))
    return errors


def check(args, data):
    ing, ed = ('Checking', 'Checked') if args.check else ('Copying', 'Copied')
    status = re.compile(r'^%s (\d+) / (\d+) blocks \((\d+)%%\)'
                        r'( \d\d+:\d\d:\d\d remaining at \d+\.\d\d MB/s)?$' % ing)
    final = re.compile(r'^%s (\d+) / (\d+) blocks \((\d+)%%\) in \d\d+:\d\d:\d\d'
                       r'( at \d+\.\d\d MB/s)?$' % ed)
    errors = []
    if args.tty:
        data = data.replace('\r\n', '\n')   # the terminal's own (onlcr)
        lead = '\r'
    else:
        if '\r' in data or '\b' in data:
            errors.append('a \\r or \\b off a terminal')
        lead = '\n'
    # each status or final line starts after a \r on a terminal, and on a
    # line of its own elsewhere (the first may open the output)
    for m in re.finditer('(%s|%s) ' % (ing, ed), data):
        before = data[m.start() - 1] if m.start() else '\n'
        if before != lead:
            errors.append('%r follows %r' % (data[m.start():m.start() + 20], before))
    if not data.endswith('\n'):
        errors.append('stderr does not end with a newline')
    records = [r.rstrip(' ') for r in re.split(r'[\r\n]', data)]
    records = [r for r in records if r.strip()]
    counts, cur, first_status = [], None, None
    for i, r in enumerate(records):
        m = status.match(r)
        if m:
            n, t, p = (int(g) for g in m.groups()[:3])
            if first_status is None:
                first_status = i
            if cur is None:
                cur = [t, n]
            if t != cur[0]:
                errors.append('%r: M changed from %d' % (r, cur[0]))
            if n < cur[1] or n > t:
                errors.append('%r: N went back from %d, or past M' % (r, cur[1]))
            if t and p != 100 * n // t:
                errors.append('%r: P is not N/M' % r)
            cur[1] = n
            continue
        m = final.match(r)
        if m:
            n, t, p = (int(g) for g in m.groups()[:3])
            if cur is None or t != cur[0]:
                errors.append('%r: no count of %d blocks before it' % (r, t))
            if n != t or p != 100:
                errors.append('%r: not M / M (100%%)' % r)
            counts.append(t)
            cur = None
            continue
        if r.startswith(ing) or r.startswith(ed):
            errors.append('malformed: %r' % r)
    if cur is not None:
        errors.append('a count of %d blocks never ended' % cur[0])
    if counts != args.total:
        errors.append('counts of %s blocks, not %s' % (counts, args.total))
    if records and not final.match(records[-1]) and not args.trailer:
        errors.append('the last line is not the final one: %r' % records[-1])
    for ph in args.phase:
        if ph not in records[:first_status]:
            errors.append('no %r line before the first status' % ph)
    if not args.tty:
        cap = PipeCapture()
        cap.feed(data)
        if '\n%s ' % ed not in cap.text():
            errors.append('GParted would not find "\\n%s "' % ed)
    return errors


def main():
    ap = argparse.ArgumentParser()
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument('--tty', action='store_true')
    mode.add_argument('--pipe', action='store_true')
    mode.add_argument('--gparted', action='store_true')
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--trailer', action='store_true')
    ap.add_argument('--phase', action='append', default=[])
    ap.add_argument('--total', action='append', type=int, required=True)
    ap.add_argument('file', nargs='?')
    args = ap.parse_args()
    if args.gparted:
        errors = gparted(args.total[0])
    else:
        with open(args.file, 'rb') as f:
            errors = check(args, f.read().decode())
    for e in errors:
        print('progress-check: ' + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
