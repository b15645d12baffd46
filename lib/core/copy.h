/*
 * The copy engine: moves the block map's runs from the source to a sink, in
 * large reads, in disk order, with readahead kept ahead of the reads.
 */
#ifndef E2I_COPY_H
#define E2I_COPY_H

#include "stop.h"
#include "blockmap.h"
#include "sink.h"
#include "source.h"
#include "warn.h"

struct copy_opts {
	/* In-place move to a higher offset: last block first, so nothing is
	 * overwritten before it has been read. */
	int reverse;
	/* The output is the source itself (an in-place move): blocks are
	 * always read into private buffers, never written from the source's
	 * mapping, whose pages the writes themselves would change. */
	int aliased;
	/* Unreadable source blocks are reported here and zero-filled (NULL:
	 * a read error is fatal). */
	struct e2i_warnings *warn;
	/* Set by a signal handler: stop between chunks. */
	e2i_stop *stop;
	/* Called after each chunk with the blocks done so far. */
	void (*progress)(void *arg, uint64_t done);
	void *progress_arg;
};

errcode_t copy_runs(const struct blockmap *m, struct source *src,
		    struct sink *sink, const struct copy_opts *o,
		    struct e2i_error *err);

/* True when len bytes at p are all zero. */
int is_zero(const void *p, size_t len);

#endif
