#include <stdio.h>
#include "nls.h"
#include "summary.h"

void summary_add(struct summary *s, const struct blockmap *m)
{
	int c;

	s->blocks_count = m->blocks_count;
	s->captured += m->captured;
	s->nruns += m->nruns;
	for (c = 0; c < BC_COUNT; c++)
		s->per_class[c] += m->per_class[c];
}

void print_summary(const struct summary *s, const char *source,
		   const char *image)
{
	int c;

	fprintf(stderr, _("%s: captured %llu of %llu blocks (%.1f MiB) in %zu runs into %s\n"),
		source, (unsigned long long)s->captured,
		(unsigned long long)s->blocks_count,
		(double)s->captured * s->blocksize / (1024.0 * 1024.0), s->nruns,
		image);
	for (c = 0; c < BC_COUNT; c++)
		if (s->per_class[c])
			fprintf(stderr, "  %-20s %12llu\n", block_class_name(c),
				(unsigned long long)s->per_class[c]);
	fprintf(stderr, _("  %llu inodes scanned, %llu unlinked orphans kept\n"),
		(unsigned long long)s->inodes_scanned,
		(unsigned long long)s->orphans);
	fprintf(stderr, _("  finding the blocks took %.3f s, copying them %.3f s\n"),
		s->t_capture, s->t_copy);
}
