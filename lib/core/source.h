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
};

errcode_t source_open(struct source *s, const char *path, uint64_t offset,
		      unsigned blocksize, struct e2i_error *err);
errcode_t source_read(struct source *s, uint64_t blk, uint64_t n, void *buf);
/* True when blocks [blk, blk + n) are a hole of a sparse source file: they
 * read as zeros and need not be read at all. */
int source_is_hole(struct source *s, uint64_t blk, uint64_t n);
/* Asks the kernel to start reading these blocks now. */
void source_willneed(struct source *s, uint64_t blk, uint64_t n);
void source_close(struct source *s);

#endif
