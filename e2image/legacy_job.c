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

/* What -v and --report count: the image's regions, in its blocks (the
 * header, written for the format, is not a capture). */
static void count_regions(struct legacy_job *j)
{
	struct summary *s = &j->p.sum;
	const struct layout *l = &j->l;

	s->blocks_count = l->end;
	s->per_class[BC_SUPERBLOCK] = 1;
	s->per_class[BC_DESCRIPTOR] = l->itable - l->super - 1;
	s->per_class[BC_INODE_TABLE] = l->blockmap - l->itable;
	s->per_class[BC_BITMAP] = l->end - l->blockmap;
	s->captured = l->end - l->super;
	s->nruns = 1;
}

static void put32(char *h, unsigned off, uint32_t v)
{
	v = ext2fs_cpu_to_le32(v);
	memcpy(h + off, &v, 4);
}

/* Reports a problem (about subject: a group, a block; n of them); in
 * strict mode it stops the run: then it is the run's error (code, and the
 * same words), which write_all prints. */
static errcode_t problem(struct legacy_job *j, enum warn_kind k, uint64_t n,
			 uint64_t subject, errcode_t code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static errcode_t problem(struct legacy_job *j, enum warn_kind k, uint64_t n,
			 uint64_t subject, errcode_t code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n == 1 ? !warn_about(&j->p.warn, k, subject, 1, "%s", msg) :
		     !warn_n(&j->p.warn, k, n, 1, "%s", msg))
		return 0;
	return e2i_seterr(&j->p.err, code, "%s", msg);
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

static errcode_t write_super(struct legacy_job *j)
{
	ext2_filsys fs = j->p.fs;
	unsigned bs = fs->blocksize;
	char *b = j->buf;
	errcode_t err;

	make_header(j, b);
	memset(b + bs, 0, bs);
	memcpy(b + bs, fs->super, SUPERBLOCK_SIZE);
	err = j->sink->ops->write(j->sink, 0, 2, b);
	if (!err)
		err = j->sink->ops->write(j->sink, j->l.super + 1, fs->desc_blocks,
					  fs->group_desc);
	return err;
}

/* Reads n inode table blocks at blk into buf; what cannot be read is
 * zero-filled and reported (blocks past the source's end were reported for
 * the whole group). */
static errcode_t read_itable(struct legacy_job *j, blk64_t blk, uint64_t n,
			     char *buf)
{
	struct plan *p = &j->p;
	unsigned bs = p->fs->blocksize;
	uint64_t have = n;

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
	return source_salvage(&p->src, blk, have, buf, NULL, 0, &p->warn, &p->err);
}

/* Whether group g's inode table lies inside the filesystem. */
static int itable_inside(ext2_filsys fs, blk64_t loc)
{
	uint64_t per = fs->inode_blocks_per_group;

	return loc && loc >= fs->super->s_first_data_block &&
	       loc + per > loc && loc + per - 1 < ext2fs_blocks_count(fs->super);
}

static errcode_t write_itables(struct legacy_job *j)
{
	ext2_filsys fs = j->p.fs;
	uint64_t per = fs->inode_blocks_per_group, end = j->p.src.end_blk, done, n;
	blk64_t loc;
	dgrp_t g;
	errcode_t err;

	for (g = 0; g < fs->group_desc_count; g++) {
		uint64_t at = j->l.itable + (uint64_t)g * per;
		int inside;

		if (stopped(j->p.stop))
			return e2i_seterr(&j->p.err, EINTR,
					  _("while copying the inode tables of %s"),
					  j->p.o->device);
		loc = ext2fs_inode_table_loc(fs, g);
		inside = itable_inside(fs, loc);
		if (!inside &&
		    (err = problem(j, WARN_GROUP, 1, g, EXT2_ET_GDESC_BAD_INODE_TABLE,
				   _("group %u: inode table at block %llu lies outside the filesystem; left as zeros in the image"),
				   g, (unsigned long long)loc)))
			return err;
		if (inside && loc + per > end &&
		    (err = problem(j, WARN_BLOCK, loc + per - (loc > end ? loc : end),
				   loc > end ? loc : end, EXT2_ET_SHORT_READ,
				   _("group %u: inode table blocks %llu to %llu lie past the end of %s; zero-filled in the image"),
				   g, (unsigned long long)(loc > end ? loc : end),
				   (unsigned long long)(loc + per - 1), j->p.o->device)))
			return err;
		for (done = 0; done < per; done += n) {
			n = per - done < j->buf_blocks ? per - done : j->buf_blocks;
			if (!inside)
				memset(j->buf, 0, n * fs->blocksize);
			else if ((err = read_itable(j, loc + done, n, j->buf)))
				return err;
			if ((err = sink_write_sparse(j->sink, at + done, n, j->buf)))
				return err;
		}
	}
	return 0;
}

/* One bitmap region: bytes of the bitmap from its first bit, a buffer at a
 * time, zero-padded to a block; a bitmap that could not be read is left
 * zero. */
static errcode_t write_bitmap(struct legacy_job *j, ext2fs_generic_bitmap bm,
			      uint64_t first, uint64_t bytes, uint64_t at)
{
	unsigned bs = j->p.fs->blocksize;
	uint64_t chunk = j->buf_blocks * bs, off, n, blocks;
	errcode_t err;

	for (off = 0; off < bytes; off += n, at += blocks) {
		n = bytes - off < chunk ? bytes - off : chunk;
		blocks = (n + bs - 1) / bs;
		memset(j->buf, 0, blocks * bs);
		if (bm && (err = ext2fs_get_generic_bmap_range(bm, first + off * 8,
							       (unsigned)(n * 8), j->buf)))
			return e2i_seterr(&j->p.err, err, _("while copying a bitmap of %s"),
					  j->p.o->device);
		if ((err = sink_write_sparse(j->sink, at, blocks, j->buf)))
			return err;
	}
	return 0;
}

static errcode_t write_bitmaps(struct legacy_job *j)
{
	ext2_filsys fs = j->p.fs;
	errcode_t err = ext2fs_read_bitmaps(fs);

	if (err && (err = problem(j, WARN_OTHER, 1, WARN_NO_SUBJECT, err,
				  _("%s while reading the bitmaps of %s; they are left as zeros in the image"),
				  error_message(err), j->p.o->device)))
		return err;
	err = write_bitmap(j, (ext2fs_generic_bitmap)fs->block_map,
			   fs->super->s_first_data_block, j->l.bmap_bytes,
			   j->l.blockmap);
	if (!err)
		err = write_bitmap(j, (ext2fs_generic_bitmap)fs->inode_map, 1,
				   j->l.imap_bytes, j->l.inodemap);
	return err;
}

static int write_all(struct legacy_job *j)
{
	const struct options *o = j->p.o;
	errcode_t err;

	err = write_super(j);
	if (!err)
		err = write_itables(j);
	if (!err)
		err = write_bitmaps(j);
	if (!err)
		err = j->sink->ops->finish(j->sink);
	if (!err)
		return 1;
	j->sink->ops->abort(j->sink);
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
	count_regions(j);
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
	return plan_open_sink(&j->p, bs, j->l.end, &j->sink) && write_all(j);
}

int run_legacy(const struct options *o, e2i_stop *stop)
{
	struct legacy_job j;
	int ok;

	memset(&j, 0, sizeof(j));
	ok = run(&j, o, stop);
	free(j.buf);
	ok = plan_status(&j.p, ok);
	if (o->report) {
		struct report_run r = { .mode = "legacy", .format = "legacy",
					.sink = j.sink };

		if (j.l.end) {
			r.image_bytes = j.l.end * j.p.fs->blocksize;
			r.file_bytes = r.image_bytes;
		}
		ok = plan_report(&j.p, &r, ok);
	}
	if (j.sink)
		j.sink->ops->destroy(j.sink);
	plan_close(&j.p);
	return ok;
}
