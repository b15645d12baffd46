/*
 * An existing file or a block device, updated in place: -c compares before
 * writing, -O writes into the middle of a disk image, GParted's -ra clones
 * to a partition. Holes keep what was there; nothing is truncated.
 * Through a symlink, the symlink's target is updated.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sink.h"
#include "out_path.h"
#include "nls.h"

struct in_place {
	struct sink s;
	int fd;
	int is_blockdev;
	int compare;
	int sync;
	char *path;
	char *cmp;       /* -c: what the output holds now */
	size_t cmp_size;
};

static errcode_t ip_put(struct in_place *f, uint64_t blk, uint64_t n,
			const char *buf)
{
	struct sink *s = &f->s;
	int e = pwrite_full(f->fd, buf, n * s->blocksize,
			    s->dest_offset + blk * s->blocksize, s->stop);

	if (e)
		return e2i_seterr(s->err, e, _("while writing block %llu to %s"),
				  (unsigned long long)blk, f->path);
	s->written += n;
	return 0;
}

/* -c: write only the blocks that differ from what the output holds. */
static errcode_t ip_compare_write(struct in_place *f, uint64_t blk, uint64_t n,
				  const char *buf)
{
	struct sink *s = &f->s;
	size_t bs = s->blocksize, len = n * bs, got;
	uint64_t i, start = 0;
	int e;

	if (len > f->cmp_size) {
		char *p = realloc(f->cmp, len);

		if (!p)
			return e2i_seterr(s->err, ENOMEM, _("while comparing %s"), f->path);
		f->cmp = p;
		f->cmp_size = len;
	}
	e = pread_full(f->fd, f->cmp, len, s->dest_offset + blk * bs, &got,
		       s->stop);
	if (e)
		return e2i_seterr(s->err, e, _("while reading block %llu of %s"),
				  (unsigned long long)blk, f->path);
	/* Past the end of the output nothing can match. */
	memset(f->cmp + got, 0, len - got);
	for (i = 0; i <= n; i++) {
		int same = i < n && (i + 1) * bs <= got &&
			   memcmp(buf + i * bs, f->cmp + i * bs, bs) == 0;

		if (i < n && !same)
			continue;
		if (i > start) {
			errcode_t err = ip_put(f, blk + start, i - start,
					       buf + start * bs);
			if (err)
				return err;
		}
		if (same)
			s->skipped++;
		start = i + 1;
	}
	return 0;
}

static errcode_t ip_write(struct sink *s, uint64_t blk, uint64_t n,
			  const void *buf)
{
	struct in_place *f = (struct in_place *)s;

	if (f->compare)
		return ip_compare_write(f, blk, n, buf);
	return ip_put(f, blk, n, buf);
}

static errcode_t ip_finish(struct sink *s)
{
	struct in_place *f = (struct in_place *)s;
	uint64_t end = s->dest_offset + s->fs_blocks * (uint64_t)s->blocksize;
	struct stat st;

	/* A file shorter than the filesystem grows to it; never shrinks. */
	if (!f->is_blockdev && fstat(f->fd, &st) == 0 &&
	    (uint64_t)st.st_size < end && ftruncate(f->fd, (off_t)end) < 0)
		return e2i_seterr(s->err, errno, _("while setting the size of %s"),
				  f->path);
	/* A device is always flushed: a user may unplug it next. */
	if ((f->sync || f->is_blockdev) && fsync(f->fd) < 0)
		return e2i_seterr(s->err, errno, _("while flushing %s"), f->path);
	/* Network filesystems report failed writes as late as this. */
	if (close(f->fd) < 0) {
		f->fd = -1;
		return e2i_seterr(s->err, errno, _("while closing %s"), f->path);
	}
	f->fd = -1;
	return 0;
}

static void ip_abort(struct sink *s)
{
	(void)s; /* an existing output cannot be taken back */
}

static void ip_destroy(struct sink *s)
{
	struct in_place *f = (struct in_place *)s;

	/* Only after a failure, which is what gets reported. */
	if (f->fd >= 0)
		close(f->fd);
	free(f->cmp);
	free(f->path);
	free(f);
}

static const struct sink_ops in_place_ops = {
	ip_write, ip_finish, ip_abort, ip_destroy
};

errcode_t sink_in_place(const struct sink_params *p, int is_blockdev,
			struct sink **out)
{
	struct in_place *f = calloc(1, sizeof(*f));
	int flags = p->compare ? O_RDWR : O_WRONLY;
	struct out_path op;
	errcode_t e;

	if (!f)
		return e2i_seterr(p->err, ENOMEM, _("while opening %s"), p->path);
	/* A block device someone has mounted or opened exclusively is refused
	 * by the kernel; the move works inside our own source. */
	if (is_blockdev && !p->move)
		flags |= O_EXCL;
	f->s.ops = &in_place_ops;
	f->s.blocksize = p->blocksize;
	f->s.fs_blocks = p->fs_blocks;
	f->s.dest_offset = p->dest_offset;
	f->s.err = p->err;
	f->s.stop = p->stop;
	f->fd = -1;
	f->is_blockdev = is_blockdev;
	f->compare = p->compare;
	f->sync = p->sync;
	f->path = strdup(p->path);
	if (!f->path) {
		ip_destroy(&f->s);
		return e2i_seterr(p->err, ENOMEM, _("while opening %s"), p->path);
	}
	e = out_path_resolve(p->path, &op, p->err);
	if (!e) {
		e = out_path_open(&op, p->path, flags, &f->fd, p->err);
		out_path_release(&op);
	}
	if (e) {
		ip_destroy(&f->s);
		return e;
	}
	f->s.fd = f->fd;
	*out = &f->s;
	return 0;
}
