/* -s: directory names replaced as e2fsprogs' e2image replaces them. */
#ifndef E2I_SCRAMBLE_H
#define E2I_SCRAMBLE_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>

struct scrambler {
	ext2fs_block_bitmap dirs;   /* directory blocks (whole clusters) */
	unsigned blocksize;
	ext2_filsys fs;
	unsigned name_id[256];      /* names given so far, per length */
	const char *device;
};

errcode_t scrambler_init(struct scrambler *s, ext2_filsys fs, const char *device);
void scrambler_free(struct scrambler *s);
/* Notes blocks [start, start + len) as directory blocks. */
void scrambler_mark(struct scrambler *s, uint64_t start, uint64_t len);
/* The copy engine's transform: scrambles the directory blocks among the n
 * blocks at blk in buf. Blocks must come in ascending order, once each. */
void scrambler_apply(void *arg, uint64_t blk, uint64_t n, char *buf);

#endif
