/*
 * The move journal's file format (see move_journal.h): encoding, the two
 * header copies, the runs and the record, each change made durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>
#include "io_full.h"
#include "move_journal.h"
#include "nls.h"

#define MAGIC "E2IMOVE1"
#define HDR_SLOT 4096u
#define HDR_BYTES 512u
#define RUNS_OFF (2u * HDR_SLOT)

static void put64(unsigned char *b, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *b)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static void put32(unsigned char *b, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static uint32_t crc(const void *p, size_t n)
{
	return (uint32_t)crc32(0, p, (uInt)n);
}

/* doing: a translated format naming the journal, "%s" its path. */
static errcode_t fail(struct move_journal *j, int e, const char *doing)
{
	return e2i_seterr(j->err, e, doing, j->path);
}

static void encode(const struct move_journal *j, unsigned char *b)
{
	memset(b, 0, HDR_BYTES);
	memcpy(b, MAGIC, 8);
	put64(b + 8, j->seq);
	put32(b + 16, j->state);
	put32(b + 20, j->p.blocksize);
	put64(b + 24, j->p.src_off);
	put64(b + 32, j->p.dst_off);
	put64(b + 40, j->p.fs_blocks);
	put64(b + 48, j->p.first_data_block);
	put32(b + 56, j->p.cluster_bits);
	put64(b + 64, j->p.dev);
	put64(b + 72, j->p.ino);
	put64(b + 80, j->p.rdev);
	put64(b + 88, j->captured);
	put64(b + 96, j->moved);
	put64(b + 104, j->done);
	put64(b + 112, j->nruns);
	put64(b + 128, j->rec_len);
	put64(b + 136, j->rec_off);
	put32(b + 120, j->runs_crc);
	put32(b + 124, j->rec_crc);
}

static int decode(struct move_journal *j, const unsigned char *b)
{
	if (memcmp(b, MAGIC, 8) || get32(b + 508) != crc(b, 508))
		return 0;
	j->seq = get64(b + 8);
	j->state = (enum mj_state)get32(b + 16);
	j->p.blocksize = get32(b + 20);
	j->p.src_off = get64(b + 24);
	j->p.dst_off = get64(b + 32);
	j->p.fs_blocks = get64(b + 40);
	j->p.first_data_block = get64(b + 48);
	j->p.cluster_bits = get32(b + 56);
	j->p.dev = get64(b + 64);
	j->p.ino = get64(b + 72);
	j->p.rdev = get64(b + 80);
	j->captured = get64(b + 88);
	j->moved = get64(b + 96);
	j->done = get64(b + 104);
	j->nruns = get64(b + 112);
	j->runs_crc = get32(b + 120);
	j->rec_crc = get32(b + 124);
	j->rec_len = get64(b + 128);
	j->rec_off = get64(b + 136);
	return (j->state == MJ_MOVING || j->state == MJ_ABORTING) &&
	       j->p.blocksize >= 512 && j->done <= j->captured &&
	       j->moved <= j->captured;
}

/* The next header, into one slot, then (once that is on the disk) into
 * the other: a write torn by a crash spoils one copy, and the other holds
 * either the previous state (nothing that depends on the new one was done)
 * or the new one; a copy damaged later is covered by its twin. */
static errcode_t write_header(struct move_journal *j)
{
	unsigned char b[HDR_BYTES];
	int e, k;

	j->seq++;
	encode(j, b);
	put32(b + 508, crc(b, 508));
	for (k = 0, e = 0; k < 2 && !e; k++) {
		e = pwrite_full(j->fd, b, sizeof(b), ((j->seq + k) & 1) * HDR_SLOT, NULL);
		if (!e && fdatasync(j->fd) < 0)
			e = errno;
	}
	return e ? fail(j, e, _("while writing the move journal %s")) : 0;
}

static struct move_journal *alloc(const char *path, struct e2i_error *err)
{
	struct move_journal *j = calloc(1, sizeof(*j));

	if (j)
		j->path = strdup(path);
	if (!j || !j->path) {
		free(j);
		e2i_seterr(err, ENOMEM, _("while opening the move journal %s"), path);
		return NULL;
	}
	j->fd = -1;
	j->err = err;
	return j;
}

/* The directory entry of a new or removed journal, on the disk. */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

/* One process per journal: a second one on the same move waits for
 * nothing and is refused. */
static errcode_t lock(struct move_journal *j)
{
	if (flock(j->fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	return e2i_seterr(j->err, errno, _("while locking the move journal %s (is another e2image using it?)"),
			  j->path);
}

errcode_t mj_create(const char *path, const struct mj_params *p,
		    const struct blockmap *m, struct e2i_error *err,
		    struct move_journal **out)
{
	struct move_journal *j = alloc(path, err);
	char *tmp;
	unsigned char rb[16 * 256];
	struct bm_cursor c;
	struct bm_run r;
	uLong rc = crc32(0, NULL, 0);
	uint64_t off = RUNS_OFF;
	size_t n = 0;
	errcode_t e;

	*out = NULL;
	if (!j)
		return ENOMEM;
	j->p = *p;
	j->state = MJ_MOVING;
	/* Written whole under a temporary name, then named: a crash while it
	 * is made leaves no half journal under the name a resume looks for
	 * (and nothing was moved yet: the leftover is removed next time). */
	tmp = malloc(strlen(path) + 5);
	if (!tmp) {
		mj_close(j);
		return e2i_seterr(err, ENOMEM, _("while creating the move journal %s"), path);
	}
	sprintf(tmp, "%s.new", path);
	(void)unlink(tmp);
	j->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->fd < 0) {
		e = fail(j, errno, _("while creating the move journal %s"));
		free(tmp);
		mj_close(j);
		return e;
	}
	if ((e = lock(j)))
		goto bad;
	blockmap_cursor(&c, m, 0);
	for (;;) {
		int more = blockmap_next(&c, &r);

		if (more) {
			put64(rb + n, r.start);
			put64(rb + n + 8, r.len);
			n += 16;
			j->nruns++;
			j->captured += r.len;
		}
		if (n == sizeof(rb) || (!more && n)) {
			rc = crc32(rc, rb, (uInt)n);
			if ((e = pwrite_full(j->fd, rb, n, off, NULL))) {
				e = fail(j, e, _("while writing the move journal %s"));
				goto bad;
			}
			off += n;
			n = 0;
		}
		if (!more)
			break;
	}
	j->rec_off = (off + HDR_SLOT - 1) / HDR_SLOT * HDR_SLOT;
	j->runs_crc = (uint32_t)rc;
	j->seq = 1;
	{
		unsigned char b[HDR_BYTES];

		encode(j, b);
		put32(b + 508, crc(b, 508));
		/* Both slots: either copy is a whole header from the start. */
		if ((e = pwrite_full(j->fd, b, sizeof(b), 0, NULL)) ||
		    (e = pwrite_full(j->fd, b, sizeof(b), HDR_SLOT, NULL))) {
			e = fail(j, e, _("while writing the move journal %s"));
			goto bad;
		}
	}
	if (fdatasync(j->fd) < 0) {
		e = fail(j, errno, _("while writing the move journal %s"));
		goto bad;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		e = fail(j, errno, _("while creating the move journal %s"));
		goto bad;
	}
	sync_dir(path);
	free(tmp);
	*out = j;
	return 0;
bad:
	(void)unlink(tmp);
	free(tmp);
	mj_close(j);
	return e;
}

errcode_t mj_open(const char *path, struct e2i_error *err,
		  struct move_journal **out)
{
	struct move_journal *j = alloc(path, err), a, b;
	unsigned char ha[HDR_BYTES], hb[HDR_BYTES];
	size_t got;
	int va, vb, e;

	*out = NULL;
	if (!j)
		return ENOMEM;
	j->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (j->fd < 0) {
		e = errno;
		mj_close(j);
		if (e == ENOENT)
			return ENOENT;
		return e2i_seterr(err, e, _("while opening the move journal %s"), path);
	}
	if ((e = lock(j)))
		goto bad;
	memset(ha, 0, sizeof(ha));
	memset(hb, 0, sizeof(hb));
	if ((e = pread_full(j->fd, ha, sizeof(ha), 0, &got, NULL)) ||
	    (e = pread_full(j->fd, hb, sizeof(hb), HDR_SLOT, &got, NULL))) {
		e = fail(j, e, _("while reading the move journal %s"));
		goto bad;
	}
	a = *j;
	b = *j;
	va = decode(&a, ha);
	vb = decode(&b, hb);
	if (!va && !vb) {
		e = e2i_seterr(err, EINVAL, _("the move journal %s is not one, or is damaged"), path);
		goto bad;
	}
	*j = (!vb || (va && a.seq > b.seq)) ? a : b;
	*out = j;
	return 0;
bad:
	mj_close(j);
	return e;
}

errcode_t mj_runs(struct move_journal *j, uint64_t first, struct blockmap *m)
{
	uint64_t i, total = 0, take;
	unsigned char rb[16];
	uLong rc = crc32(0, NULL, 0);
	struct bm_run *runs;
	size_t got;
	errcode_t e = 0;

	if (j->nruns > (SIZE_MAX / sizeof(*runs)))
		return fail(j, EINVAL, _("while reading the move journal %s"));
	runs = malloc((j->nruns ? j->nruns : 1) * sizeof(*runs));
	if (!runs)
		return fail(j, ENOMEM, _("while reading the move journal %s"));
	for (i = 0; i < j->nruns; i++) {
		if ((e = pread_full(j->fd, rb, 16, RUNS_OFF + i * 16, &got, NULL)) ||
		    got != 16) {
			e = fail(j, e ? e : EINVAL, _("while reading the move journal %s"));
			goto out;
		}
		rc = crc32(rc, rb, 16);
		runs[i].start = get64(rb);
		runs[i].len = get64(rb + 8);
		total += runs[i].len;
	}
	if ((uint32_t)rc != j->runs_crc || total != j->captured) {
		e = e2i_seterr(j->err, EINVAL, _("the move journal %s is damaged (its list of blocks)"),
			       j->path);
		goto out;
	}
	blockmap_init(m, j->p.fs_blocks, j->p.first_data_block, 0);
	/* The first `first` blocks of the moving order: from the end when
	 * the move goes to a higher offset. */
	for (i = 0; i < j->nruns && first; i++) {
		uint64_t k = j->p.dst_off > j->p.src_off ? j->nruns - 1 - i : i;
		struct bm_run r = runs[k];

		take = first == UINT64_MAX || r.len <= first ? r.len : first;
		if (take < r.len && j->p.dst_off > j->p.src_off)
			r.start += r.len - take;
		if (blockmap_add(m, r.start, take, BC_DATA)) {
			e = fail(j, ENOMEM, _("while reading the move journal %s"));
			goto out;
		}
		if (first != UINT64_MAX)
			first -= take;
	}
	if (blockmap_finish(m))
		e = fail(j, ENOMEM, _("while reading the move journal %s"));
out:
	free(runs);
	return e;
}

errcode_t mj_set_done(struct move_journal *j, uint64_t done)
{
	j->done = done;
	j->rec_len = 0;
	j->rec_crc = 0;
	return write_header(j);
}

errcode_t mj_set_record(struct move_journal *j, const struct copy_seg *segs,
			size_t nsegs, const void *data)
{
	uint64_t blocks = 0, len, off = j->rec_off;
	unsigned char b[16];
	uLong rc = crc32(0, NULL, 0);
	size_t i;
	int e;

	put64(b, nsegs);
	rc = crc32(rc, b, 8);
	if ((e = pwrite_full(j->fd, b, 8, off, NULL)))
		return fail(j, e, _("while writing the move journal %s"));
	off += 8;
	for (i = 0; i < nsegs; i++) {
		put64(b, segs[i].blk);
		put64(b + 8, segs[i].n);
		rc = crc32(rc, b, 16);
		if ((e = pwrite_full(j->fd, b, 16, off, NULL)))
			return fail(j, e, _("while writing the move journal %s"));
		off += 16;
		blocks += segs[i].n;
	}
	len = blocks * j->p.blocksize;
	rc = crc32(rc, data, (uInt)len);
	if ((e = pwrite_full(j->fd, data, len, off, NULL)))
		return fail(j, e, _("while writing the move journal %s"));
	/* On the disk before a header names it: a named record that fails
	 * its CRC is damage, never a torn write. */
	if (fdatasync(j->fd) < 0)
		return fail(j, errno, _("while writing the move journal %s"));
	j->rec_len = off + len - j->rec_off;
	j->rec_crc = (uint32_t)rc;
	return write_header(j);
}

static errcode_t damaged(struct move_journal *j)
{
	return e2i_seterr(j->err, EINVAL, _("the move journal %s is damaged (the bytes of the piece in flight); nothing was written"),
			  j->path);
}

errcode_t mj_get_record(struct move_journal *j, struct copy_seg **segs,
			size_t *nsegs, void **data)
{
	unsigned char *buf, *p;
	uint64_t n, i, blocks = 0;
	size_t got;
	errcode_t e;

	*segs = NULL;
	*data = NULL;
	*nsegs = 0;
	if (!j->rec_len)
		return 0;
	if (j->rec_len > (256u << 20) || j->rec_len < 8)
		return damaged(j);
	buf = malloc(j->rec_len);
	if (!buf)
		return fail(j, ENOMEM, _("while reading the move journal %s"));
	e = pread_full(j->fd, buf, j->rec_len, j->rec_off, &got, NULL);
	if (e || got != j->rec_len || (uint32_t)crc(buf, j->rec_len) != j->rec_crc) {
		free(buf);
		return e ? fail(j, e, _("while reading the move journal %s")) : damaged(j);
	}
	n = get64(buf);
	if (n > (j->rec_len - 8) / 16) {
		free(buf);
		return damaged(j);
	}
	*segs = malloc((n ? n : 1) * sizeof(**segs));
	if (!*segs) {
		free(buf);
		return fail(j, ENOMEM, _("while reading the move journal %s"));
	}
	for (i = 0, p = buf + 8; i < n; i++, p += 16) {
		(*segs)[i].blk = get64(p);
		(*segs)[i].n = get64(p + 8);
		blocks += (*segs)[i].n;
	}
	if (8 + n * 16 + blocks * j->p.blocksize != j->rec_len) {
		free(*segs);
		*segs = NULL;
		free(buf);
		return damaged(j);
	}
	*data = malloc(blocks ? blocks * j->p.blocksize : 1);
	if (!*data) {
		free(*segs);
		*segs = NULL;
		free(buf);
		return fail(j, ENOMEM, _("while reading the move journal %s"));
	}
	memcpy(*data, p, blocks * j->p.blocksize);
	*nsegs = n;
	free(buf);
	return 0;
}

errcode_t mj_start_abort(struct move_journal *j)
{
	if (j->state == MJ_ABORTING)
		return 0;
	j->moved = j->done;
	j->state = MJ_ABORTING;
	return mj_set_done(j, 0);
}

errcode_t mj_remove(struct move_journal *j)
{
	if (unlink(j->path) < 0)
		return fail(j, errno, _("while removing the move journal %s"));
	sync_dir(j->path);
	return 0;
}

void mj_close(struct move_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}
