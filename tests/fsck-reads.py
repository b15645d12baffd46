#!/usr/bin/env python3
"""fsck-reads.py -- does an image hold what e2fsck reads on its source?

Reads lines "RESULT SOURCE IMAGE BASE TRACEDIR" (tab-separated) on stdin.
TRACEDIR holds `strace -ff -ttt -y -s 0` traces (one file per thread) of
`e2fsck -fn SOURCE`; BASE is the healthy fixture SOURCE was damaged from
(its geometry is SOURCE's).  Writes RESULT: "ok" or "FAIL" on the first
line, then what e2fsck read, what was exempt and what differs.

Every byte e2fsck read from SOURCE must be the same in IMAGE, except where
IMAGE holds zeros and the bytes are one of these, which e2image does not copy
by design:
  - a block before s_first_data_block (the boot block of a 1k filesystem);
  - the block a device, fifo or socket inode maps at logical block 0, when
    it does not start like a directory block ("." then ".."): e2fsck's
    check_is_really_dir() reads it only to reject it;
  - 1024 bytes e2fsck's backup superblock search reads (block size * 8 for
    each block size, +1 for 1k) where this filesystem keeps no superblock:
    the probe of a block size the filesystem does not have.
"""
import os
import re
import subprocess
import sys

CALL = re.compile(r"^(\d+\.\d+) (\w+)\((\d+)<(.*?)>, (.*)\) += (-?\d+)")


def geometry(base):
    geo = {}
    for line in subprocess.run(["dumpe2fs", "-h", base], capture_output=True,
                               text=True).stdout.splitlines():
        m = re.match(r"^(Block size|First block|Inodes per group|Inode size|"
                     r"Blocks per group|Block count):\s+(\d+)", line)
        if m:
            geo[m.group(1)] = int(m.group(2))
    return geo


def read_ranges(tracedir, path, bs):
    """{block: {(start, end)}}: the byte ranges read from path, or an error"""
    events = []
    for t in os.listdir(tracedir):
        with open(os.path.join(tracedir, t), errors="replace") as f:
            for line in f:
                m = CALL.match(line)
                if m and m.group(4) == path:
                    events.append((float(m.group(1)), t, m.group(2), m.group(3),
                                   m.group(5).split(", "), int(m.group(6))))
    events.sort(key=lambda e: e[0])
    pos, ranges = {}, {}
    for _, t, name, fd, args, ret in events:
        if name == "lseek":
            pos[(t, fd)] = ret
            continue
        if ret <= 0:
            continue
        if name == "pread64":
            off = int(args[-1])
        elif name == "read" and (t, fd) in pos:
            off = pos[(t, fd)]
            pos[(t, fd)] += ret
        else:
            return None, "%s() of the source at an unknown offset" % name
        end = off + ret
        while off < end:
            b = off // bs
            stop = min(end, (b + 1) * bs)
            ranges.setdefault(b, set()).add((off, stop))
            off = stop
    return ranges, None


def get(f, off, n):
    f.seek(off)
    d = f.read(n)
    return d + bytes(n - len(d))


def dir_shaped(blk, bs):
    """starts with "." then ".." (check_is_really_dir()'s test, less the
    inode number: a looser test exempts less)"""
    def le16(o):
        return int.from_bytes(blk[o:o + 2], "little")
    r1 = le16(4)
    if blk[6] != 1 or blk[8:9] != b"." or r1 < 12 or r1 % 4 or r1 >= bs - 12:
        return False
    r2 = le16(r1 + 4)
    return (blk[r1 + 6] == 2 and blk[r1 + 8:r1 + 10] == b".." and
            r2 >= 12 and r2 % 4 == 0)


def special_first_blocks(src, base, geo, s):
    """{block: inode}: the block each device, fifo or socket inode of src
    maps at logical block 0 (the inode tables are where base has them)"""
    bs, ipg, isz = geo["Block size"], geo["Inodes per group"], geo["Inode size"]
    itables = [int(m.group(1)) for m in re.finditer(
        r"Inode table at (\d+)-", subprocess.run(
            ["dumpe2fs", base], capture_output=True, text=True).stdout)]
    cand = []
    for g, it in enumerate(itables):
        table = get(s, it * bs, ipg * isz)
        for i in range(ipg):
            ino = table[i * isz:(i + 1) * isz]
            mode = int.from_bytes(ino[0:2], "little") & 0xF000
            if mode in (0x1000, 0x2000, 0x6000, 0xC000) and ino[40:44] != bytes(4):
                cand.append(g * ipg + i + 1)
    if not cand:
        return {}
    # libext2fs maps the block as e2fsck does (ext2fs_bmap2)
    out = subprocess.run(["debugfs", "-f", "-", src], capture_output=True, text=True,
                         input="".join("bmap <%d> 0\n" % n for n in cand)).stdout
    res, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"debugfs: bmap <(\d+)> 0", line)
        if m:
            cur = int(m.group(1))
        elif cur and re.fullmatch(r"\d+", line.strip()) and int(line) != 0:
            res[int(line)] = cur
            cur = None
    return res


def check(src, image, base, tracedir):
    geo = geometry(base)
    bs, first = geo["Block size"], geo["First block"]
    ranges, err = read_ranges(tracedir, os.path.realpath(src), bs)
    if err:
        return False, [err]
    if not ranges:
        return False, ["no read of %s in the trace" % src]
    # where this filesystem keeps superblocks: 1024, and group g's first block
    # for the groups that have a backup
    sbs = {1024}
    for line in subprocess.run(["dumpe2fs", base], capture_output=True,
                               text=True).stdout.splitlines():
        m = re.search(r"Backup superblock at (\d+)", line)
        if m:
            sbs.add(int(m.group(1)) * bs)
    probes = {(b * 8 + (b == 1024)) * b for b in (1 << k for k in range(10, 17))}
    bad, exempt, special = [], [], None
    with open(src, "rb") as s, open(image, "rb") as o:
        for b in sorted(ranges):
            for lo, hi in sorted(ranges[b]):
                theirs, ours = get(s, lo, hi - lo), get(o, lo, hi - lo)
                if theirs == ours:
                    continue
                zero = ours == bytes(hi - lo)
                why = None
                if zero and b < first:
                    why = "before s_first_data_block"
                elif zero and hi - lo == 1024 and lo in probes and lo not in sbs:
                    why = "backup superblock probe where there is none"
                elif zero and get(o, b * bs, bs) == bytes(bs):
                    if special is None:
                        special = special_first_blocks(src, base, geo, s)
                    if b in special and not dir_shaped(get(s, b * bs, bs), bs):
                        why = "logical block 0 of special inode %d, not a directory block" % special[b]
                if why:
                    exempt.append("block %d bytes %d-%d: %s" % (b, lo, hi - 1, why))
                else:
                    bad.append("block %d bytes %d-%d%s" % (b, lo, hi - 1,
                                                          " (zeros in the image)" if zero else ""))
    msg = ["e2fsck read %d blocks of the source" % len(ranges)]
    msg += ["exempt: " + e for e in exempt]
    msg += ["differs: " + e for e in bad]
    return not bad, msg


for line in sys.stdin:
    result, src, image, base, tracedir = line.rstrip("\n").split("\t")
    try:
        ok, msg = check(src, image, base, tracedir)
    except (OSError, ValueError, KeyError) as e:
        ok, msg = False, ["error: %s" % e]
    with open(result, "w") as f:
        f.write("ok\n" if ok else "FAIL\n")
        f.write("".join(m + "\n" for m in msg))
