#include <stdio.h>
#include "nls.h"
#include "summary.h"

void print_summary(const struct blockmap *m, unsigned blocksize,
		   const char *source, const char *image)
{
	int c;

	fprintf(stderr, _("%s: captured %llu of %llu blocks (%.1f MiB) in %zu runs into %s\n"),
		source, (unsigned long long)m->captured,
		(unsigned long long)m->blocks_count,
		(double)m->captured * blocksize / (1024.0 * 1024.0), m->nruns,
		image);
	for (c = 0; c < BC_COUNT; c++)
		if (m->per_class[c])
			fprintf(stderr, "  %-20s %12llu\n", block_class_name(c),
				(unsigned long long)m->per_class[c]);
}
