/*
 * Reading what a failing disk still gives: a read that failed somewhere in
 * a run is done again block by block, and the blocks the source cannot
 * give are zero-filled, as e2fsprogs does, each reported. A failing disk
 * costs the blocks it cannot read, not the image.
 */
#include <errno.h>
#include <string.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include "nls.h"
#include "source.h"
#include "warn.h"

errcode_t source_salvage(struct source *s, uint64_t blk, uint64_t n, void *buf,
			 const unsigned char *kind, int skip_kind,
			 struct e2i_warnings *w, struct e2i_error *err)
{
	char *b = buf;
	uint64_t i;
	errcode_t e;

	for (i = 0; i < n; i++) {
		if (kind && kind[i] == skip_kind)
			continue;
		e = source_try_read(s, blk + i, 1, b + i * s->blocksize);
		if (!e)
			continue;
		if (e == EINTR && stopped(s->stop))
			return e2i_seterr(err, e, _("while reading %s"), s->path);
		if (!w || warn_about(w, WARN_BLOCK, blk + i, 1,
			       _("block %llu: %s while reading %s; zero-filled in the image"),
			       (unsigned long long)(blk + i), error_message(e), s->path))
			return e2i_seterr(err, e, _("while reading block %llu of %s"),
					  (unsigned long long)(blk + i), s->path);
		/* A short read keeps what it got, as e2fsprogs does. */
		if (e != EXT2_ET_SHORT_READ)
			memset(b + i * s->blocksize, 0, s->blocksize);
	}
	return 0;
}
