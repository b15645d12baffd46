/*
 * The copy engine: moves the block map's runs from the source to a sink, in
 * large reads, in disk order, with readahead kept ahead of the reads.
 */
#ifndef E2I_COPY_H
#define E2I_COPY_H

#include "stop.h"
#include "blockmap.h"
#include "digest.h"
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
	/* Captured blocks to pass over first, in the walk's order (a move
	 * resumed after a crash). */
	uint64_t skip;
	/* A crash-safe move's journal: called with each chunk once it is
	 * read, before any of it is written (nsegs pieces of blocks, their
	 * bytes one after the other in data), and again once it is written.
	 * A nonzero return is an error (its message set) that stops the copy. */
	struct copy_journal *journal;
	/* Called on each piece once read, before it is written (-s); the
	 * pieces come in the walk's order, each once. */
	void (*transform)(void *arg, uint64_t blk, uint64_t n, char *buf);
	void *transform_arg;
	/* The image digest, fed with every piece as it goes to the output
	 * (after the transform), in the walk's order: forward walks only. */
	struct image_digest *digest;
	/* Hash on a thread of its own (worth it with a second core). */
	int digest_thread;
};

struct copy_seg {
	uint64_t blk, n;
};

struct copy_journal {
	errcode_t (*before_write)(struct copy_journal *j, const struct copy_seg *segs,
				  size_t nsegs, const void *data);
	errcode_t (*after_write)(struct copy_journal *j, const struct copy_seg *segs,
				 size_t nsegs);
};

errcode_t copy_runs(const struct blockmap *m, struct source *src,
		    struct sink *sink, const struct copy_opts *o,
		    struct e2i_error *err);


#endif
