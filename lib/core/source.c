#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "source.h"
#include "nls.h"

errcode_t source_open(struct source *s, const char *path, uint64_t offset,
		      unsigned blocksize, struct e2i_error *err)
{
	s->path = path;
	s->offset = offset;
	s->blocksize = blocksize;
	s->err = err;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return e2i_seterr(err, errno, _("while opening %s"), path);
	return 0;
}

errcode_t source_read(struct source *s, uint64_t blk, uint64_t n, void *buf)
{
	char *p = buf;
	size_t left = n * s->blocksize;
	off_t off = s->offset + blk * s->blocksize;

	while (left) {
		ssize_t r = pread(s->fd, p, left, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return e2i_seterr(s->err, r < 0 ? errno : EXT2_ET_SHORT_READ,
					  _("while reading block %llu of %s"),
					  (unsigned long long)(blk + (p - (char *)buf) / s->blocksize),
					  s->path);
		p += r;
		left -= r;
		off += r;
	}
	return 0;
}

void source_willneed(struct source *s, uint64_t blk, uint64_t n)
{
#ifdef HAVE_POSIX_FADVISE
	(void)posix_fadvise(s->fd, s->offset + blk * s->blocksize,
			    n * s->blocksize, POSIX_FADV_WILLNEED);
#else
	(void)s; (void)blk; (void)n;
#endif
}

void source_close(struct source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
