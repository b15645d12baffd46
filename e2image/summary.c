#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Characters, not bytes: a translated name may hold UTF-8. */
static int chars(const char *s)
{
	size_t n = mbstowcs(NULL, s, 0);

	return n == (size_t)-1 ? (int)strlen(s) : (int)n;
}

void print_summary(const struct summary *s, const char *source,
		   const char *image)
{
	int c, w = 20;

	/* One column for the counts, however long a translated name is. */
	for (c = 0; c < BC_COUNT; c++)
		if (s->per_class[c] && chars(_(block_class_name(c))) > w)
			w = chars(_(block_class_name(c)));
	fprintf(stderr, _("%s: captured %llu of %llu blocks (%.1f MiB) in %zu runs into %s\n"),
		source, (unsigned long long)s->captured,
		(unsigned long long)s->blocks_count,
		(double)s->captured * s->blocksize / (1024.0 * 1024.0), s->nruns,
		image);
	for (c = 0; c < BC_COUNT; c++)
		if (s->per_class[c]) {
			const char *name = _(block_class_name(c));

			fprintf(stderr, "  %-*s %12llu\n",
				w + (int)strlen(name) - chars(name), name,
				(unsigned long long)s->per_class[c]);
		}
	fprintf(stderr, _("  %llu inodes scanned, %llu unlinked orphans kept\n"),
		(unsigned long long)s->inodes_scanned,
		(unsigned long long)s->orphans);
	fprintf(stderr, _("  finding the blocks took %.3f s, copying them %.3f s\n"),
		s->t_capture, s->t_copy);
}
