#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include "io_full.h"
#include "source.h"
#include "nls.h"

errcode_t source_open(struct source *s, const char *path, uint64_t offset,
		      unsigned blocksize, e2i_stop *stop, struct e2i_error *err)
{
	struct stat st;
	int sized;

	s->path = path;
	s->offset = offset;
	s->blocksize = blocksize;
	s->stop = stop;
	s->err = err;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return e2i_seterr(err, errno, _("while opening %s"), path);
	if (fstat(s->fd, &st) < 0)
		return e2i_seterr(err, errno, _("while examining %s"), path);
	s->seekable_holes = S_ISREG(st.st_mode);
	s->hole_start = s->hole_end = s->data_start = s->data_end = 0;
	s->size = 0;
	sized = S_ISREG(st.st_mode) ||
		(S_ISBLK(st.st_mode) && ioctl(s->fd, BLKGETSIZE64, &s->size) == 0);
	if (S_ISREG(st.st_mode))
		s->size = st.st_size;
	/* A block partly past the end still gives what it has. */
	s->end_blk = !sized ? UINT64_MAX :
		     s->size <= offset ? 0 :
		     (s->size - offset + blocksize - 1) / blocksize;
	return 0;
}

/*
 * Filesystem images are often sparse files: a fresh journal or inode table
 * there is a hole, and reading it would only fetch zeros. SEEK_DATA and
 * SEEK_HOLE say where the holes are; the answers are cached, so a run of
 * chunks costs a couple of lseeks, not one per chunk.
 */
int source_is_hole(struct source *s, uint64_t blk, uint64_t n)
{
	uint64_t start = s->offset + blk * s->blocksize;
	uint64_t end = start + n * s->blocksize;
	off_t r;

	if (blk >= s->end_blk)
		return 1;
	if (!s->seekable_holes)
		return 0;
	if (start >= s->hole_start && end <= s->hole_end)
		return 1;
	if (start >= s->data_start && start < s->data_end)
		return 0;
	r = lseek(s->fd, (off_t)start, SEEK_DATA);
	if (r < 0) {
		if (errno != ENXIO) {
			s->seekable_holes = 0; /* not supported here: just read */
			return 0;
		}
		/* No data after start: a hole up to the end of the file, not
		 * beyond (what lies beyond is missing, not zeros). */
		r = (off_t)s->size;
		if ((uint64_t)r <= start)
			return 0;
	}
	if ((uint64_t)r > start) {
		s->hole_start = start;
		s->hole_end = r;
		return end <= (uint64_t)r;
	}
	r = lseek(s->fd, (off_t)start, SEEK_HOLE);
	if (r < 0) {
		s->seekable_holes = 0;
		return 0;
	}
	s->data_start = start;
	s->data_end = r;
	return 0;
}

errcode_t source_try_read(struct source *s, uint64_t blk, uint64_t n, void *buf)
{
	size_t len = n * s->blocksize, got;
	int e = pread_full(s->fd, buf, len, s->offset + blk * s->blocksize,
			   &got, s->stop);

	s->bytes_read += got;
	if (e)
		return e;
	if (got < len) {
		memset((char *)buf + got, 0, len - got);
		return EXT2_ET_SHORT_READ;
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

int source_cached(struct source *s, uint64_t blk, void *scratch)
{
#ifdef RWF_NOWAIT
	struct iovec v = { scratch, s->blocksize };
	ssize_t r = preadv2(s->fd, &v, 1, (off_t)(s->offset + blk * s->blocksize),
			    RWF_NOWAIT);

	if (r > 0) {
		s->bytes_read += (uint64_t)r;
		return 1;
	}
	if (r < 0 && errno == EAGAIN)
		return 0;
#else
	(void)s; (void)blk; (void)scratch;
#endif
	return -1;
}

void source_close(struct source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
