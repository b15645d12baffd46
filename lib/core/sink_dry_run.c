/* -n: says which blocks would be written, writes nothing. With -c, only the
 * blocks that differ from what the output holds now. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sink.h"
#include "out_path.h"
#include "nls.h"

struct dry_run {
	struct sink s;
	int cmp_fd;        /* -c: the existing output, read-only; else -1 */
	char *cmp;
};

static int unchanged(struct dry_run *d, uint64_t blk, const char *block)
{
	size_t bs = d->s.blocksize, got;

	if (d->cmp_fd < 0 ||
	    pread_full(d->cmp_fd, d->cmp, bs, d->s.dest_offset + blk * bs, &got,
		       d->s.stop) ||
	    got != bs)
		return 0;
	return memcmp(d->cmp, block, bs) == 0;
}

static errcode_t dr_write(struct sink *s, uint64_t blk, uint64_t n,
			  const void *buf)
{
	struct dry_run *d = (struct dry_run *)s;
	const char *line = _("Writing block %llu\n");  /* once, not per block */
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (unchanged(d, blk + i, (const char *)buf + i * s->blocksize)) {
			s->skipped++;
			continue;
		}
		if (printf(line, (unsigned long long)(blk + i)) < 0)
			return e2i_seterr(s->err, errno, _("while writing to stdout"));
		s->written++;
	}
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
	struct dry_run *d = (struct dry_run *)s;

	if (d->cmp_fd >= 0)
		close(d->cmp_fd);
	free(d->cmp);
	free(d);
}

static const struct sink_ops dry_run_ops = {
	dr_write, dr_finish, dr_abort, dr_destroy
};

/*
 * -c: the output as it is now. A missing one (or a symlink to nothing) is
 * no error: the real run would create it and write every block, and that
 * is what gets listed (e2fsprogs creates an empty file there and then loops
 * forever reading past its end). An output that exists but cannot be read
 * fails, as the real run would and as e2fsprogs does.
 */
static errcode_t open_compared(const struct sink_params *p, int *fd)
{
	struct out_path op;
	errcode_t err = out_path_resolve(p->path, &op, p->err);

	if (err)
		return err;
	if (op.exists)
		err = out_path_open(&op, p->path, O_RDONLY, fd, p->err);
	out_path_release(&op);
	return err;
}

errcode_t sink_dry_run(const struct sink_params *p, int holes_read_zero,
		       struct sink **out)
{
	struct dry_run *d = calloc(1, sizeof(*d));
	errcode_t err;

	if (!d || !(d->cmp = malloc(p->blocksize))) {
		free(d);
		return e2i_seterr(p->err, ENOMEM, _("while opening %s"), p->path);
	}
	d->s.ops = &dry_run_ops;
	d->s.blocksize = p->blocksize;
	d->s.fs_blocks = p->fs_blocks;
	d->s.dest_offset = p->dest_offset;
	d->s.holes_read_zero = holes_read_zero;
	d->s.err = p->err;
	d->s.stop = p->stop;
	d->cmp_fd = -1;
	if (p->compare && (err = open_compared(p, &d->cmp_fd)) != 0) {
		dr_destroy(&d->s);
		return err;
	}
	d->s.fd = -1;
	*out = &d->s;
	return 0;
}
