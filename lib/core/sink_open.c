/* Chooses the sink for an output path, from what the path leads to now;
 * and the sparse write every job uses. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "sink.h"
#include "out_path.h"
#include "zero.h"
#include "nls.h"

errcode_t sink_kind_for(const struct sink_params *p, enum sink_kind *kind,
			int *is_blockdev)
{
	struct out_path op;
	errcode_t err;

	*is_blockdev = 0;
	if (strcmp(p->path, "-") == 0) {
		*kind = SINK_STREAM;
		return 0;
	}
	/* Follows symlinks and refuses what another user planted in a sticky
	 * directory, for every kind: the refusal comes before the capture. */
	err = out_path_resolve(p->path, &op, p->err);
	if (err)
		return err;
	if (!op.exists) {
		*kind = SINK_NEW_FILE;
	} else if (S_ISBLK(op.st.st_mode)) {
		*is_blockdev = 1;
		*kind = SINK_IN_PLACE;
	} else if (S_ISREG(op.st.st_mode)) {
		/* -c, -O and the move update an existing file; otherwise it is
		 * replaced whole, so no stale bytes survive in its holes. */
		*kind = (p->compare || p->dest_offset || p->move) ?
			SINK_IN_PLACE : SINK_NEW_FILE;
	} else if (S_ISDIR(op.st.st_mode)) {
		err = e2i_seterr(p->err, EISDIR, _("while opening %s"), p->path);
	} else {
		*kind = SINK_STREAM; /* character device, FIFO, socket */
	}
	out_path_release(&op);
	return err;
}

errcode_t sink_open(const struct sink_params *p, struct sink **out)
{
	enum sink_kind kind;
	int blk;
	errcode_t err = sink_kind_for(p, &kind, &blk);

	if (err)
		return err;
	if (p->dry_run)
		return sink_dry_run(p, kind == SINK_NEW_FILE, out);
	switch (kind) {
	case SINK_NEW_FILE:
		return sink_file_new(p, out);
	case SINK_IN_PLACE:
		return sink_in_place(p, blk, out);
	default:
		return sink_stream(p, out);
	}
}

errcode_t sink_write_sparse(struct sink *s, uint64_t blk, uint64_t n,
			    const void *buf)
{
	const char *b = buf;
	uint64_t i = 0, start;
	errcode_t err;

	if (!s->holes_read_zero)
		return s->ops->write(s, blk, n, buf);
	while (i < n) {
		while (i < n && is_zero(b + i * s->blocksize, s->blocksize))
			i++;
		for (start = i; i < n && !is_zero(b + i * s->blocksize, s->blocksize); i++)
			;
		if (i > start &&
		    (err = s->ops->write(s, blk + start, i - start,
					 b + start * s->blocksize)))
			return err;
	}
	return 0;
}
