/* -v: what the image holds, by kind of block. */
#ifndef E2I_SUMMARY_H
#define E2I_SUMMARY_H

#include "blockmap.h"

void print_summary(const struct blockmap *m, unsigned blocksize,
		   const char *source, const char *image);

#endif
