/*
 * Sinks: where captured blocks go. One small table of operations per output
 * kind (a file written whole, a file or device updated in place, a stream, a
 * dry run); the copy engine never asks which kind it feeds.
 */
#ifndef E2I_SINK_H
#define E2I_SINK_H

#include <stdint.h>
#include "error.h"
#include "io_full.h"

struct sink;

struct sink_ops {
	/* Blocks [blk, blk + n) of the filesystem, in ascending order (the
	 * reverse of it in a move to a higher offset). */
	errcode_t (*write)(struct sink *s, uint64_t blk, uint64_t n,
			   const void *buf);
	/* Everything is written: make the output whole and durable. */
	errcode_t (*finish)(struct sink *s);
	/* Something failed: leave nothing that looks like a complete image. */
	void (*abort)(struct sink *s);
	void (*destroy)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	unsigned blocksize;
	uint64_t fs_blocks;     /* filesystem size in blocks */
	uint64_t dest_offset;   /* -O: bytes before block 0 */
	/* Zero blocks may be left as holes: the output reads zeros there. */
	int holes_read_zero;
	/* Blocks not captured read as zeros in this output (a new file, a
	 * stream): a short gap between two captured stretches may be written
	 * as zeros, so both go in one call. Never so for an existing output. */
	int gaps_read_zero;
	uint64_t skipped;       /* -c: blocks found already identical */
	uint64_t written;       /* blocks handed to the output */
	uint64_t zero_bytes;    /* and bytes of zeros a stream wrote besides
				 * (-O, gaps, the end: --report) */
	struct e2i_error *err;
	e2i_stop *stop;         /* a blocked write gives up when set */
	/* The output's descriptor, for fstat only (a format that records
	 * where it was written); -1 for a dry run. */
	int fd;
};

enum sink_kind {
	SINK_NEW_FILE,   /* regular file written under a temporary name */
	SINK_IN_PLACE,   /* existing file or block device, updated */
	SINK_STREAM,     /* stdout or a pipe */
};

struct sink_params {
	const char *path;       /* "-" for stdout */
	unsigned blocksize;
	uint64_t fs_blocks;
	uint64_t dest_offset;
	int compare;            /* -c: read before write, skip identical */
	int dry_run;            /* -n: list blocks, write nothing */
	int move;               /* in-place move inside the source */
	int sync;               /* --sync: wait until the image is on the disk */
	struct e2i_error *err;
	e2i_stop *stop;         /* NULL: never stops */
};

/* Decides the kind from what the path is now. */
errcode_t sink_kind_for(const struct sink_params *p, enum sink_kind *kind,
			int *is_blockdev);
errcode_t sink_open(const struct sink_params *p, struct sink **out);
/* Writes blocks [blk, blk + n) of buf, leaving zero blocks out where the
 * output's holes read as zeros. */
errcode_t sink_write_sparse(struct sink *s, uint64_t blk, uint64_t n,
			    const void *buf);

/* Constructors, one per kind (sink_open picks). */
errcode_t sink_file_new(const struct sink_params *p, struct sink **out);
errcode_t sink_in_place(const struct sink_params *p, int is_blockdev,
			struct sink **out);
errcode_t sink_stream(const struct sink_params *p, struct sink **out);
errcode_t sink_dry_run(const struct sink_params *p, int holes_read_zero,
		       struct sink **out);


#endif
