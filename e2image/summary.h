/* -v: what the image holds, by kind of block, and where the time went. */
#ifndef E2I_SUMMARY_H
#define E2I_SUMMARY_H

#include "blockmap.h"

struct summary {
	uint64_t blocks_count;
	uint64_t captured;
	size_t nruns;
	uint64_t per_class[BC_COUNT];
	unsigned blocksize;
	double t_capture, t_copy;   /* seconds */
	uint64_t inodes_scanned, orphans;
};

/* Adds a finished block map's figures. */
void summary_add(struct summary *s, const struct blockmap *m);
void print_summary(const struct summary *s, const char *source,
		   const char *image);

#endif
