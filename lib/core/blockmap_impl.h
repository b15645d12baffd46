/* Shared by the block map's files only: memory accounting, folding, bits. */
#ifndef E2I_BLOCKMAP_IMPL_H
#define E2I_BLOCKMAP_IMPL_H

#include "blockmap.h"

/* malloc and free, counted in m->bytes and m->peak_bytes. */
void *bm_alloc(struct blockmap *m, size_t bytes);
void bm_release(struct blockmap *m, void *p, size_t bytes);

/* What a bitmap of the whole filesystem costs, in bytes. */
size_t bm_bitmap_bytes(const struct blockmap *m);
/* Turns the map into a bitmap holding its runs and pending extents (their
 * classes are counted already); both lists are released. */
int bm_to_bitmap(struct blockmap *m);
/* First block in [from, end) whose bit is set (set != 0) or clear;
 * returns 0 when there is none. */
int bm_find(const struct blockmap *m, int set, uint64_t from, uint64_t end,
	    uint64_t *at);
/* Sets nruns and captured from the bitmap. */
void bm_recount(struct blockmap *m);

/* Sorts the pending list, counts its new blocks by class and merges it
 * into the run set, which may turn into a bitmap (never at the end of
 * the capture unless the runs outgrow their bound). */
int bm_fold(struct blockmap *m, int finishing);

#endif
