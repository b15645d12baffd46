/*
 * The legacy job: the "normal" e2image format that debugfs -i and
 * dumpe2fs -i read (libext2fs' e2image.h). Block-aligned regions, one
 * after the other:
 *
 *   block 0       the header (struct ext2_image_hdr, zero-padded)
 *   1             the superblock as libext2fs holds it, zero-padded
 *   2 ...         the group descriptors, fs->desc_blocks blocks
 *   then          every group's inode table, back to back (zero blocks
 *                 left as holes)
 *   then          the block bitmap, all groups, zero-padded to a block
 *   then          the inode bitmap, likewise
 *
 * Byte for byte what e2fsprogs' e2image writes, apart from the header
 * fields that record the capture (image_inode, image_time; and the host
 * name and device numbers where another machine made it). Every offset is
 * known before a byte is written, so the regions go out in order: a new
 * file under a temporary name, a device, or a stream.
 *
 * Best effort as elsewhere: an inode table out of range or unreadable
 * blocks become zeros with a warning (exit 2); e2fsprogs stops there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <ext2fs/ext2_err.h>
#include "legacy_job.h"
#include "messages.h"
#include "nls.h"
#include "plan.h"
#include "zero.h"

/* Byte offsets in struct ext2_image_hdr (lib/ext2fs/e2image.h), all
 * fields little-endian. */
enum {
	H_MAGIC = 0, H_DESCRIPTOR = 4, H_HOSTNAME = 20, H_DEVICE = 120,
	H_DEVICE_NAME = 124, H_UUID = 188, H_BLOCKSIZE = 204,
	H_IMAGE_DEVICE = 240, H_IMAGE_INODE = 244, H_IMAGE_TIME = 248,
	H_OFF_SUPER = 284, H_OFF_INODE = 288, H_OFF_INODEMAP = 292,
	H_OFF_BLOCKMAP = 296, H_SIZE = 332
};

/* Inode table blocks read at once. */
#define ITABLE_CHUNK_BYTES (256u << 10)

struct layout {
	uint64_t super, itable, blockmap, inodemap, end;   /* in blocks */
	uint64_t bmap_bytes, imap_bytes;
};

struct legacy_job {
	struct plan p;
	struct sink *sink;
	struct layout l;
	char *buf;
	uint64_t buf_blocks;
};

static uint64_t blocks_for(uint64_t bytes, unsigned bs)
{
	return (bytes + bs - 1) / bs;
}

static void plan_layout(ext2_filsys fs, struct layout *l)
{
	unsigned bs = fs->blocksize;

	l->super = 1;
	l->itable = l->super + 1 + fs->desc_blocks;
	l->blockmap = l->itable +
		      (uint64_t)fs->group_desc_count * fs->inode_blocks_per_group;
	l->bmap_bytes = (uint64_t)EXT2_CLUSTERS_PER_GROUP(fs->super) / 8 *
			fs->group_desc_count;
	l->imap_bytes = (uint64_t)EXT2_INODES_PER_GROUP(fs->super) / 8 *
			fs->group_desc_count;
	l->inodemap = l->blockmap + blocks_for(l->bmap_bytes, bs);
	l->end = l->inodemap + blocks_for(l->imap_bytes, bs);
}

static void put32(char *h, unsigned off, uint32_t v)
{
	v = ext2fs_cpu_to_le32(v);
	memcpy(h + off, &v, 4);
}

/* Reports a problem; 1 when it stops the run (--strict), and then it is
 * said as the reason (warn() leaves that to the caller). */
static int lwarn(struct legacy_job *j, enum warn_kind k, uint64_t n,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int lwarn(struct legacy_job *j, enum warn_kind k, uint64_t n,
		 const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!warn_n(&j->p.warn, k, n, 1, "%s", msg))
		return 0;
	msg_plain("%s", msg);
	return 1;
}

/* The header block. The offsets are 32-bit in the format: as e2fsprogs
 * does, larger ones are cut (and said, before this is called). */
static void make_header(struct legacy_job *j, char *h)
{
	ext2_filsys fs = j->p.fs;
	unsigned bs = fs->blocksize;
	struct stat st;

	memset(h, 0, bs);
	put32(h, H_MAGIC, (uint32_t)EXT2_ET_MAGIC_E2IMAGE);
	memcpy(h + H_DESCRIPTOR, "Ext2 Image 1.0", 14);
	(void)gethostname(h + H_HOSTNAME, 64);
	h[H_HOSTNAME + 63] = 0;
	strncpy(h + H_DEVICE_NAME, j->p.o->device, 63);
	if (stat(j->p.o->device, &st) == 0)
		put32(h, H_DEVICE, (uint32_t)st.st_rdev);
	memcpy(h + H_UUID, fs->super->s_uuid, 16);
	put32(h, H_BLOCKSIZE, bs);
	if (j->sink->fd >= 0 && fstat(j->sink->fd, &st) == 0) {
		put32(h, H_IMAGE_DEVICE, (uint32_t)st.st_dev);
		put32(h, H_IMAGE_INODE, (uint32_t)st.st_ino);
	}
	put32(h, H_IMAGE_TIME, (uint32_t)time(NULL));
	put32(h, H_OFF_SUPER, (uint32_t)(j->l.super * bs));
	put32(h, H_OFF_INODE, (uint32_t)(j->l.itable * bs));
	put32(h, H_OFF_BLOCKMAP, (uint32_t)(j->l.blockmap * bs));
	put32(h, H_OFF_INODEMAP, (uint32_t)(j->l.inodemap * bs));
}

static errcode_t put(struct legacy_job *j, uint64_t blk, uint64_t n,
		     const char *data)
{
	return j->sink->ops->write(j->sink, blk, n, data);
}

/* Writes n blocks at blk, leaving zero blocks out where holes read as
 * zeros (as e2fsprogs seeks over them). */
static errcode_t put_sparse(struct legacy_job *j, uint64_t blk, uint64_t n,
			    const char *data)
{
	unsigned bs = j->p.fs->blocksize;
	uint64_t i = 0, start;
	errcode_t err;

	if (!j->sink->holes_read_zero)
		return put(j, blk, n, data);
	while (i < n) {
		while (i < n && is_zero(data + i * bs, bs))
			i++;
		for (start = i; i < n && !is_zero(data + i * bs, bs); i++)
			;
		if (i > start && (err = put(j, blk + start, i - start,
					    data + start * bs)))
			return err;
	}
	return 0;
}

static errcode_t write_super(struct legacy_job *j)
{
	ext2_filsys fs = j->p.fs;
	unsigned bs = fs->blocksize;
	char *b = j->buf;
	errcode_t err;

	make_header(j, b);
	memset(b + bs, 0, bs);
	memcpy(b + bs, fs->super, SUPERBLOCK_SIZE);
	err = put(j, 0, 2, b);
	if (!err)
		err = put(j, j->l.super + 1, fs->desc_blocks,
			  (const char *)fs->group_desc);
	return err;
}

/* Reads n inode table blocks at blk into buf; what cannot be read is
 * zero-filled and reported (blocks past the source's end were reported for
 * the whole group). Returns nonzero to stop (strict, signal). */
static int read_itable(struct legacy_job *j, dgrp_t g, blk64_t blk,
		       uint64_t n, char *buf)
{
	struct plan *p = &j->p;
	unsigned bs = p->fs->blocksize;
	uint64_t i, have = n;
	errcode_t err;

	if (blk + n > p->src.end_blk) {
		have = blk < p->src.end_blk ? p->src.end_blk - blk : 0;
		memset(buf + have * bs, 0, (n - have) * bs);
	}
	/* Unused inode tables are often holes in an image file: not read. */
	if (have && source_is_hole(&p->src, blk, have)) {
		memset(buf, 0, have * bs);
		return 0;
	}
	if (!have || !source_try_read(&p->src, blk, have, buf))
		return 0;
	for (i = 0; i < have; i++) {
		err = source_try_read(&p->src, blk + i, 1, buf + i * bs);
		if (!err)
			continue;
		if (err == EINTR && stopped(p->stop))
			return 1;
		if (lwarn(j, WARN_BLOCK, 1,
			  _("group %u: block %llu of its inode table: %s while reading %s; zero-filled in the image"),
			  g, (unsigned long long)(blk + i), error_message(err),
			  p->o->device))
			return 1;
		if (err != EXT2_ET_SHORT_READ)
			memset(buf + i * bs, 0, bs);
	}
	return 0;
}

static errcode_t write_itables(struct legacy_job *j, int *stop)
{
	ext2_filsys fs = j->p.fs;
	uint64_t per = fs->inode_blocks_per_group, done, n;
	blk64_t loc;
	dgrp_t g;
	errcode_t err;

	for (g = 0; g < fs->group_desc_count; g++) {
		uint64_t at = j->l.itable + (uint64_t)g * per;

		if (stopped(j->p.stop))
			return e2i_seterr(&j->p.err, EINTR,
					  _("while copying the inode tables of %s"),
					  j->p.o->device);
		loc = ext2fs_inode_table_loc(fs, g);
		if (!loc || loc < fs->super->s_first_data_block ||
		    loc + per - 1 >= ext2fs_blocks_count(fs->super) ||
		    loc + per < loc) {
			if (lwarn(j, WARN_GROUP, 1,
				  _("group %u: inode table at block %llu lies outside the filesystem; left as zeros in the image"),
				  g, (unsigned long long)loc)) {
				*stop = 1;
				return 0;
			}
			if (!j->sink->holes_read_zero) {
				memset(j->buf, 0, j->buf_blocks * fs->blocksize);
				for (done = 0; done < per; done += n) {
					n = per - done < j->buf_blocks ? per - done : j->buf_blocks;
					if ((err = put(j, at + done, n, j->buf)))
						return err;
				}
			}
			continue;
		}
		if (loc + per > j->p.src.end_blk &&
		    lwarn(j, WARN_BLOCK, loc + per - (loc > j->p.src.end_blk ? loc : j->p.src.end_blk),
			  _("group %u: inode table blocks %llu to %llu lie past the end of %s; zero-filled in the image"),
			  g, (unsigned long long)(loc > j->p.src.end_blk ? loc : j->p.src.end_blk),
			  (unsigned long long)(loc + per - 1), j->p.o->device)) {
			*stop = 1;
			return 0;
		}
		for (done = 0; done < per; done += n) {
			n = per - done < j->buf_blocks ? per - done : j->buf_blocks;
			if (read_itable(j, g, loc + done, n, j->buf)) {
				*stop = 1;
				return 0;
			}
			if ((err = put_sparse(j, at + done, n, j->buf)))
				return err;
		}
	}
	return 0;
}

/* One bitmap region: bytes of the bitmap from its first bit, a block at a
 * time, zero-padded; a bitmap that could not be read is left zero. */
static errcode_t write_bitmap(struct legacy_job *j, ext2fs_generic_bitmap bm,
			      uint64_t first, uint64_t bytes, uint64_t at)
{
	unsigned bs = j->p.fs->blocksize;
	uint64_t off, n;
	errcode_t err;

	for (off = 0; off < bytes; off += n, at++) {
		n = bytes - off < bs ? bytes - off : bs;
		memset(j->buf, 0, bs);
		if (bm && (err = ext2fs_get_generic_bmap_range(bm, first + off * 8,
							       (unsigned)(n * 8), j->buf)))
			return e2i_seterr(&j->p.err, err, _("while copying a bitmap of %s"),
					  j->p.o->device);
		if ((err = put_sparse(j, at, 1, j->buf)))
			return err;
	}
	return 0;
}

static errcode_t write_bitmaps(struct legacy_job *j, int *stop)
{
	ext2_filsys fs = j->p.fs;
	errcode_t err = ext2fs_read_bitmaps(fs);

	if (err && lwarn(j, WARN_OTHER, 1,
			 _("%s while reading the bitmaps of %s; they are left as zeros in the image"),
			 error_message(err), j->p.o->device)) {
		*stop = 1;
		return 0;
	}
	err = write_bitmap(j, (ext2fs_generic_bitmap)fs->block_map,
			   fs->super->s_first_data_block, j->l.bmap_bytes,
			   j->l.blockmap);
	if (!err)
		err = write_bitmap(j, (ext2fs_generic_bitmap)fs->inode_map, 1,
				   j->l.imap_bytes, j->l.inodemap);
	return err;
}

static int open_sink(struct legacy_job *j)
{
	const struct options *o = j->p.o;
	struct sink_params sp = { 0 };
	errcode_t err;

	sp.path = o->image;
	sp.blocksize = j->p.fs->blocksize;
	sp.fs_blocks = j->l.end;
	sp.err = &j->p.err;
	sp.sync = o->sync;
	sp.stop = j->p.stop;
	err = sink_open(&sp, &j->sink);
	if (err)
		msg_err(err, "%s", j->p.err.what);
	return !err;
}

static int write_all(struct legacy_job *j)
{
	const struct options *o = j->p.o;
	int stop = 0;
	errcode_t err;

	err = write_super(j);
	if (!err)
		err = write_itables(j, &stop);
	if (!err && !stop)
		err = write_bitmaps(j, &stop);
	if (!err && !stop)
		err = j->sink->ops->finish(j->sink);
	if (!err && !stop)
		return 1;
	j->sink->ops->abort(j->sink);
	if (err)
		msg_err(err, "%s", j->p.err.what);
	if (j->p.kind == SINK_NEW_FILE)
		msg_plain(_("no image was written to %s"), o->image);
	else
		msg_plain(_("%s is incomplete: not every part of the image was written"),
			  strcmp(o->image, "-") ? o->image : "stdout");
	return 0;
}

static int run(struct legacy_job *j, const struct options *o, e2i_stop *stop)
{
	ext2_filsys fs;
	unsigned bs;

	if (!plan_open(&j->p, o, stop))
		return 0;
	fs = j->p.fs;
	bs = fs->blocksize;
	plan_layout(fs, &j->l);
	if (j->l.inodemap * bs > UINT32_MAX)
		msg_plain(_("warning: in the image of %s the bitmaps start %llu bytes in: past 4 GiB, the format's 32-bit offsets are cut, as e2fsprogs cuts them, and debugfs -i cannot read it"),
			  o->device, (unsigned long long)(j->l.inodemap * bs));
	j->buf_blocks = ITABLE_CHUNK_BYTES / bs;
	if (j->buf_blocks < 2)
		j->buf_blocks = 2;
	j->buf = malloc(j->buf_blocks * bs);
	if (!j->buf) {
		msg_err(ENOMEM, _("while allocating buffers for %s"), o->device);
		return 0;
	}
	return open_sink(j) && write_all(j);
}

int run_legacy(const struct options *o, e2i_stop *stop)
{
	struct legacy_job j;
	int ok;

	memset(&j, 0, sizeof(j));
	ok = run(&j, o, stop);
	if (j.sink)
		j.sink->ops->destroy(j.sink);
	free(j.buf);
	ok = plan_status(&j.p, ok);
	plan_close(&j.p);
	return ok;
}
