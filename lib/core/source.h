/* The source device or file, read in runs of blocks, never written. */
#ifndef E2I_SOURCE_H
#define E2I_SOURCE_H

#include <stdint.h>
#include "error.h"
#include "stop.h"

struct source {
	int fd;
	const char *path;
	uint64_t offset;    /* -o: where the filesystem starts */
	unsigned blocksize;
	struct e2i_error *err;
	e2i_stop *stop;     /* a blocked read gives up when set */
	/* The first block that lies wholly past the end of the source
	 * (UINT64_MAX when its size is unknown): it reads as zeros, and the
	 * plan reports every captured block from there on. */
	uint64_t end_blk;
	/* A sparse source file: [hole_start, hole_end) is known to be a hole,
	 * [data_start, data_end) known data (byte offsets; empty when unknown). */
	int seekable_holes;
	uint64_t size;      /* bytes, for a regular file or a block device */
	uint64_t hole_start, hole_end, data_start, data_end;
	uint64_t bytes_read;   /* by the reads below (--report) */
};

errcode_t source_open(struct source *s, const char *path, uint64_t offset,
		      unsigned blocksize, e2i_stop *stop, struct e2i_error *err);
/* Reads blocks; the caller reports a failure. A short read (the end of
 * the source) leaves the bytes it got, the rest of buf zeroed, and returns
 * EXT2_ET_SHORT_READ. */
errcode_t source_try_read(struct source *s, uint64_t blk, uint64_t n, void *buf);
/* After a failed read of [blk, blk + n) into buf: each block read alone,
 * those that cannot be read zero-filled and reported to w (NULL, or w in
 * strict mode: the first is an error, set in err). Blocks whose kind[i] is
 * skip_kind (kind may be NULL) are left as they are. */
struct e2i_warnings;
errcode_t source_salvage(struct source *s, uint64_t blk, uint64_t n, void *buf,
			 const unsigned char *kind, int skip_kind,
			 struct e2i_warnings *w, struct e2i_error *err);
/* True when blocks [blk, blk + n) read as zeros without being read: a hole
 * of a sparse source file, or past the source's end. */
int source_is_hole(struct source *s, uint64_t blk, uint64_t n);
/* Asks the kernel to start reading these blocks now. */
void source_willneed(struct source *s, uint64_t blk, uint64_t n);
/* Whether block blk is in the page cache: 1 yes, 0 no, -1 cannot tell.
 * Reads it into scratch (one block) only if it is. */
int source_cached(struct source *s, uint64_t blk, void *scratch);
void source_close(struct source *s);

#endif
