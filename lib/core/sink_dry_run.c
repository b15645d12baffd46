/* -n: says which blocks would be written, writes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "sink.h"
#include "nls.h"

static errcode_t dr_write(struct sink *s, uint64_t blk, uint64_t n,
			  const void *buf)
{
	uint64_t i;

	(void)buf;
	for (i = 0; i < n; i++)
		if (printf("Writing block %llu\n", (unsigned long long)(blk + i)) < 0)
			return e2i_seterr(s->err, errno, _("while writing to stdout"));
	s->written += n;
	return 0;
}

static errcode_t dr_finish(struct sink *s)
{
	if (fflush(stdout) != 0)
		return e2i_seterr(s->err, errno, _("while writing to stdout"));
	return 0;
}

static void dr_abort(struct sink *s)
{
	(void)s;
}

static void dr_destroy(struct sink *s)
{
	free(s);
}

static const struct sink_ops dry_run_ops = {
	dr_write, dr_finish, dr_abort, dr_destroy
};

errcode_t sink_dry_run(const struct sink_params *p, int holes_read_zero,
		       struct sink **out)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (!s)
		return e2i_seterr(p->err, ENOMEM, _("while opening %s"), p->path);
	s->ops = &dry_run_ops;
	s->blocksize = p->blocksize;
	s->fs_blocks = p->fs_blocks;
	s->dest_offset = p->dest_offset;
	s->holes_read_zero = holes_read_zero;
	s->err = p->err;
	*out = s;
	return 0;
}
