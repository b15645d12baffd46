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
};

errcode_t source_open(struct source *s, const char *path, uint64_t offset,
		      unsigned blocksize, struct e2i_error *err);
errcode_t source_read(struct source *s, uint64_t blk, uint64_t n, void *buf);
/* Asks the kernel to start reading these blocks now. */
void source_willneed(struct source *s, uint64_t blk, uint64_t n);
void source_close(struct source *s);

#endif
