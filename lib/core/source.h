/* The source device or file, read in runs of blocks, never written. */
#ifndef E2I_SOURCE_H
#define E2I_SOURCE_H

#include <stdint.h>
#include "error.h"

struct source {
	int fd;
	const char *path;
	uint64_t offset;    /* -o: where the filesystem starts */
	unsigned blocksize;
	struct e2i_error *err;
	/* A sparse source file: [hole_start, hole_end) is known to be a hole,
	 * [data_start, data_end) known data (byte offsets; empty when unknown). */
	int seekable_holes;
	uint64_t hole_start, hole_end, data_start, data_end;
	/* The whole source mapped read-only, or NULL: large runs are written
	 * straight from the page cache instead of being copied through a
	 * buffer first. */
	const char *map;
	uint64_t map_len;
};

errcode_t source_open(struct source *s, const char *path, uint64_t offset,
		      unsigned blocksize, struct e2i_error *err);
errcode_t source_read(struct source *s, uint64_t blk, uint64_t n, void *buf);
/* The same, without recording the error: the caller deals with it. */
errcode_t source_try_read(struct source *s, uint64_t blk, uint64_t n, void *buf);
/* True when blocks [blk, blk + n) are a hole of a sparse source file: they
 * read as zeros and need not be read at all. */
int source_is_hole(struct source *s, uint64_t blk, uint64_t n);
/* Asks the kernel to start reading these blocks now. */
void source_willneed(struct source *s, uint64_t blk, uint64_t n);
/* Blocks [blk, blk + n) as mapped memory whose pages are all resident, or
 * NULL (no mapping, or the pages could not be read: use source_read, which
 * reports the error). */
const char *source_mapped(struct source *s, uint64_t blk, uint64_t n);
/* Done with mapped blocks: drop them from our address space. */
void source_unmapped(struct source *s, const char *p, uint64_t n);
void source_close(struct source *s);

#endif
