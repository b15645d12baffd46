#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "nls.h"
#include "qcow2_data.h"

/* ---- pass 1: which blocks are not zero ---- */

struct probe {
	struct sink s;
	struct blockmap *nonzero;
};

static errcode_t probe_write(struct sink *s, uint64_t blk, uint64_t n,
			     const void *buf)
{
	struct probe *p = (struct probe *)s;

	(void)buf;
	if (blockmap_add(p->nonzero, blk, n, BC_DATA))
		return e2i_seterr(s->err, ENOMEM, _("while planning the qcow2 layout"));
	return 0;
}

static errcode_t nothing_to_finish(struct sink *s)
{
	(void)s;
	return 0;
}

static void nothing_to_abort(struct sink *s)
{
	(void)s;
}

static void free_sink(struct sink *s)
{
	free(s);
}

static const struct sink_ops probe_ops = {
	probe_write, nothing_to_finish, nothing_to_abort, free_sink
};

errcode_t probe_sink_new(struct blockmap *nonzero, unsigned blocksize,
			 struct e2i_error *err, struct sink **out)
{
	struct probe *p = calloc(1, sizeof(*p));

	if (!p)
		return e2i_seterr(err, ENOMEM, _("while planning the qcow2 layout"));
	p->s.ops = &probe_ops;
	p->s.blocksize = blocksize;
	p->s.holes_read_zero = 1;
	p->s.err = err;
	p->nonzero = nonzero;
	*out = &p->s;
	return 0;
}

/* ---- the image ---- */

struct image_sink {
	struct sink s;
	struct qcow2_image *img;
	const char *name;
};

errcode_t image_error(int e, struct qcow2_image *img, const char *name,
		      struct e2i_error *err)
{
	const char *spill = qcow2_image_spill_dir(img);

	if (err->code)  /* the output's own message, from emit */
		return err->code;
	switch (e) {
	case QCOW2_E_ORDER:
	case QCOW2_E_UNPLANNED:
		return e2i_seterr(err, EXT2_ET_INVALID_ARGUMENT,
				  _("while writing %s: a block changed while it was being imaged"),
				  name);
	case EFBIG:
		return e2i_seterr(err, EFBIG,
				  _("while writing %s: the qcow2 tables would exceed qemu's limits: choose a larger cluster size"),
				  name);
	default:
		/* the spill file is worth naming where it may be the cause:
		 * not for a stop */
		if (spill && e != EINTR)
			return e2i_seterr(err, e, _("while writing %s (compressed clusters past --compress-buffer go to %s)"),
					  name, spill);
		return e2i_seterr(err, e, _("while writing %s"), name);
	}
}

static errcode_t image_write(struct sink *s, uint64_t blk, uint64_t n,
			     const void *buf)
{
	struct image_sink *is = (struct image_sink *)s;
	int e = qcow2_image_write(is->img, blk * s->blocksize, buf, n * s->blocksize);

	return e ? image_error(e, is->img, is->name, s->err) : 0;
}

static const struct sink_ops image_ops = {
	image_write, nothing_to_finish, nothing_to_abort, free_sink
};

errcode_t image_sink_new(struct qcow2_image *img, unsigned blocksize,
			 const char *name, struct e2i_error *err,
			 struct sink **sink)
{
	struct image_sink *is = calloc(1, sizeof(*is));

	if (!is)
		return e2i_seterr(err, ENOMEM, _("while writing %s"), name);
	is->s.ops = &image_ops;
	is->s.blocksize = blocksize;
	is->s.holes_read_zero = 1;
	is->s.err = err;
	is->img = img;
	is->name = name;
	*sink = &is->s;
	return 0;
}
