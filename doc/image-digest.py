#!/usr/bin/env python3
# Recomputes the digest-sha256 of an e2image manifest from a raw image:
#   image-digest.py IMAGE BLOCK_SIZE IMAGE_BYTES [DEST_OFFSET]
# (block-size, image-bytes and dest-offset are lines of the manifest; a
# qcow2 image is first converted: e2image -r image.qcow2 image.raw).
# SHA-256 over, for each maximal run of non-zero blocks in offset order, the
# run's bytes then its offset and length (8-byte big-endian each), then the
# image length (8-byte big-endian). Holes are skipped with SEEK_DATA.
import hashlib, os, struct, sys

path, bs, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = int(sys.argv[4]) if len(sys.argv) > 4 else 0
fd = os.open(path, os.O_RDONLY)
h = hashlib.sha256()
run = None                       # [offset, length] of the open run

def end_run():
    global run
    if run:
        h.update(struct.pack('>QQ', run[0], run[1]))
    run = None

blk, nblk = 0, size // bs
while blk < nblk:
    try:
        at = (os.lseek(fd, base + blk * bs, os.SEEK_DATA) - base) // bs
    except OSError:              # no data past here: all zeros
        break
    if at > blk:
        end_run()
        blk = at
        continue
    b = os.pread(fd, bs, base + blk * bs).ljust(bs, b'\0')
    if b.count(0) == bs:
        end_run()
    else:
        if not run:
            run = [blk * bs, 0]
        run[1] += bs
        h.update(b)
    blk += 1
end_run()
h.update(struct.pack('>Q', size))
print(h.hexdigest())
