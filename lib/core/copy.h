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
#include "zero.h"

struct copy_opts {
	/* In-place move to a higher offset: last block first, so nothing is
	 * overwritten before it has been read. (Every chunk is read whole
	 * into a private buffer before any of it is written, so within a
	 * chunk the overlap of source and destination does not matter.) */
	int reverse;
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


#endif
