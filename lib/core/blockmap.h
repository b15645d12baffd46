/*
 * The block map: every extent of the source worth keeping, with its class.
 *
 * Its memory is bounded by the filesystem's geometry, not by what inodes
 * claim: damaged or crafted extent trees can name the same blocks millions
 * of times (issue 15).
 *  - Extents are appended in discovery order; consecutive blocks of one
 *    class coalesce as they come. A map that fits in the budget is sorted
 *    once, by blockmap_finish().
 *  - When the pending list reaches its budget (BM_BUDGET bytes, or half the
 *    run set if that is larger), it is folded into the run set: sorted,
 *    merged, repeats dropped.
 *  - When the run set would cost more than a quarter of a bitmap of the
 *    filesystem (and more than the budget), or the pending list overflows
 *    where a bitmap costs no more than the budget, the map becomes a
 *    bitmap: one bit per block, from then on marked directly.
 * So a map never holds much more than max(BM_BUDGET, one bit per block)
 * times a small factor, and a huge nearly empty filesystem (few runs) never
 * gets a bitmap. peak_bytes reports what it held at most.
 *
 * Classes: a block belongs to the class of the first extent added that
 * covers it, whatever order the folds happen in; per_class counts distinct
 * blocks by that rule.
 */
#ifndef E2I_BLOCKMAP_H
#define E2I_BLOCKMAP_H

#include <stdint.h>
#include <stddef.h>
#include <ext2fs/ext2fs.h>
#include "blockclass.h"

/* Pending extents a map may hold before it folds them, in bytes. */
#define BM_BUDGET ((size_t)2 << 20)

struct bm_extent {
	uint64_t start;
	uint32_t len;
	uint32_t seq : 24;   /* order added, within one pending list */
	uint32_t class : 8;
};

/* A maximal run of captured blocks, possibly of several classes. */
struct bm_run {
	uint64_t start;
	uint64_t len;
};

struct blockmap {
	uint64_t blocks_count;
	uint64_t first_data_block;
	/* log2 of blocks per cluster: bigalloc captures whole clusters. */
	unsigned cluster_bits;
	/* Called for each accepted extent, e.g. to start readahead. */
	void (*on_add)(void *arg, uint64_t start, uint64_t len,
		       enum block_class c);
	void *on_add_arg;
	/* Pending list limit in bytes (BM_BUDGET; tests lower it). */
	size_t budget;

	/* Extents added since the last fold, in the order added. */
	struct bm_extent *ext;
	size_t n, cap;
	/* What was folded: sorted disjoint runs, or, once bits is set, a
	 * bitmap (runs is then NULL). Read either with a bm_cursor. */
	struct bm_run *runs;
	ext2fs_generic_bitmap bits;

	/* Marks that fell outside the filesystem and were dropped. */
	uint64_t out_of_range;
	/* Blocks per class, first added wins (complete after finish). */
	uint64_t per_class[BC_COUNT];
	/* Set by blockmap_finish(). */
	size_t nruns;
	uint64_t captured;            /* blocks in runs */
	/* Bytes held now, and at most so far (lists, runs, bitmap, scratch). */
	size_t bytes, peak_bytes;
};

void blockmap_init(struct blockmap *m, uint64_t blocks_count,
		   uint64_t first_data_block, unsigned cluster_bits);
/* Returns 0, or ENOMEM. */
int blockmap_add(struct blockmap *m, uint64_t start, uint64_t len,
		 enum block_class c);
/* Folds what is pending and counts the runs; the pending list is
 * released. Returns 0, or ENOMEM. */
int blockmap_finish(struct blockmap *m);
void blockmap_free(struct blockmap *m);

/* Reads a finished map's runs in order, or in reverse order. */
#define BM_CURSOR_RUNS 128
struct bm_cursor {
	const struct blockmap *m;
	int reverse;
	size_t i;            /* runs handed out, from an array */
	uint64_t pos;        /* from a bitmap: where the search goes on */
	uint64_t window;     /* reverse, from a bitmap: blocks looked at */
	struct bm_run buf[BM_CURSOR_RUNS];
	size_t nbuf;         /* reverse, from a bitmap: runs still in buf */
};

void blockmap_cursor(struct bm_cursor *c, const struct blockmap *m,
		     int reverse);
/* Stores the next run in *r and returns 1, or returns 0 at the end. From
 * a bitmap, a run may come in pieces. */
int blockmap_next(struct bm_cursor *c, struct bm_run *r);

#endif
