/*
 * The block map: every extent of the source worth keeping, with its class.
 * Extents are appended in discovery order and sorted into disjoint runs
 * once, so memory grows with what is captured, not with the filesystem.
 */
#ifndef E2I_BLOCKMAP_H
#define E2I_BLOCKMAP_H

#include <stdint.h>
#include <stddef.h>
#include "blockclass.h"

struct bm_extent {
	uint64_t start;
	uint32_t len;
	uint8_t class;
};

/* A maximal run of captured blocks, possibly of several classes. */
struct bm_run {
	uint64_t start;
	uint64_t len;
};

struct blockmap {
	struct bm_extent *ext;
	size_t n, cap;
	/* Blocks marked, counting repeats: e2fsprogs' progress total. */
	uint64_t marks;
	/* Marks that fell outside the filesystem and were dropped. */
	uint64_t out_of_range;
	uint64_t blocks_count;
	uint64_t first_data_block;
	/* log2 of blocks per cluster: bigalloc captures whole clusters. */
	unsigned cluster_bits;
	/* Called for each accepted extent, e.g. to start readahead. */
	void (*on_add)(void *arg, uint64_t start, uint64_t len,
		       enum block_class c);
	void *on_add_arg;

	/* Filled by blockmap_finish(). */
	struct bm_run *runs;
	size_t nruns;
	uint64_t captured;            /* blocks in runs */
	uint64_t per_class[BC_COUNT]; /* blocks per class, first class wins */
};

void blockmap_init(struct blockmap *m, uint64_t blocks_count,
		   uint64_t first_data_block, unsigned cluster_bits);
/* Returns 0, or ENOMEM. */
int blockmap_add(struct blockmap *m, uint64_t start, uint64_t len,
		 enum block_class c);
/* Sorts and merges into runs; the extent list is released. */
int blockmap_finish(struct blockmap *m);
/* Removes from m's runs every block in done's runs (both finished), so a
 * second copy pass skips what a first one already wrote. */
int blockmap_subtract(struct blockmap *m, const struct blockmap *done);
void blockmap_free(struct blockmap *m);

#endif
