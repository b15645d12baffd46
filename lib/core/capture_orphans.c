/*
 * Orphans: unlinked inodes that e2fsck will release or truncate at its
 * next run. e2fsprogs' e2image skips every inode with no links, so e2fsck on
 * its image reports corruption the filesystem does not have; we keep their
 * mapping blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <et/com_err.h>
#include "capture.h"
#include "nls.h"

static errcode_t take(struct capture *c, ext2_ino_t ino)
{
	struct ext2_inode inode;
	errcode_t err;

	err = ext2fs_read_inode(c->fs, ino, &inode);
	if (err)
		return err;
	if (inode.i_links_count)
		return 0; /* linked: the scan has it already */
	c->stats.orphans++;
	return capture_inode_or_warn(c, ino, &inode);
}

static int valid_ino(const struct capture *c, ext2_ino_t ino)
{
	return ino >= EXT2_FIRST_INODE(c->fs->super) &&
	       ino <= c->fs->super->s_inodes_count;
}

/*
 * The classic list: s_last_orphan, chained through i_dtime. Each inode is
 * taken once; a list that comes back to an inode it has passed is a loop.
 */
static errcode_t orphan_list(struct capture *c)
{
	ext2_filsys fs = c->fs;
	ext2_ino_t ino = fs->super->s_last_orphan;
	ext2fs_inode_bitmap seen = NULL;
	int type = fs->default_bitmap_type;
	errcode_t err = 0;

	if (!ino)
		return 0;
	/* Memory grows with the list, not with the inode count. */
	fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	err = ext2fs_allocate_inode_bitmap(fs, "orphans seen", &seen);
	fs->default_bitmap_type = type;
	if (err)
		return err;
	while (ino) {
		struct ext2_inode inode;

		if (!valid_ino(c, ino)) {
			if (warn(c->warn, WARN_OTHER, 1,
				 _("orphan list: inode %u does not exist; the rest of the list is not followed"),
				 ino))
				err = EXT2_ET_BAD_INODE_NUM;
			break;
		}
		if (ext2fs_test_inode_bitmap2(seen, ino)) {
			if (warn(c->warn, WARN_OTHER, 1,
				 _("orphan list: loops back to inode %u"), ino))
				err = EXT2_ET_BAD_INODE_NUM;
			break;
		}
		ext2fs_mark_inode_bitmap2(seen, ino);
		err = take(c, ino);
		if (!err)
			err = ext2fs_read_inode(fs, ino, &inode);
		if (err)
			break;
		ino = inode.i_dtime;
	}
	ext2fs_free_inode_bitmap(seen);
	return err;
}

struct ofile {
	struct capture *c;
	char *buf;
	/* The entries, each once, from blocks read once: a damaged tree may
	 * name the file's blocks over and over, but these sets grow with
	 * distinct inodes and blocks. */
	ext2fs_inode_bitmap inos;
	ext2fs_block_bitmap read;
	uint64_t seen, limit; /* block references followed, and the bound */
	errcode_t err;
};

static int ofile_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		       blk64_t ref_blk, int ref_offset, void *priv)
{
	struct ofile *o = priv;
	/* Each block ends in an 8-byte tail (magic, checksum). */
	size_t i, per = fs->blocksize / 4 - 2;
	__u32 *ent = (__u32 *)o->buf;

	(void)ref_blk; (void)ref_offset;
	if (stopped(o->c->stop)) {
		o->err = EINTR;
		return BLOCK_ABORT;
	}
	if (++o->seen > o->limit) {
		if (warn(o->c->warn, WARN_OTHER, 1,
			 _("orphan file: more block references than it can own; the rest is not read")))
			o->err = EXT2_ET_BAD_BLOCK_NUM;
		return BLOCK_ABORT;
	}
	if (blockcnt < 0)
		return 0;
	/* A block outside the filesystem is read, and fails, as before. */
	if (*blocknr >= fs->super->s_first_data_block &&
	    *blocknr < ext2fs_blocks_count(fs->super)) {
		if (ext2fs_test_block_bitmap2(o->read, *blocknr))
			return 0;
		ext2fs_mark_block_bitmap2(o->read, *blocknr);
	}
	o->err = io_channel_read_blk64(fs->io, *blocknr, 1, o->buf);
	if (o->err)
		return BLOCK_ABORT;
	for (i = 0; i < per; i++) {
		ext2_ino_t ino = ext2fs_le32_to_cpu(ent[i]);

		if (!ino)
			continue;
		if (valid_ino(o->c, ino)) {
			ext2fs_mark_inode_bitmap2(o->inos, ino);
		} else if (warn(o->c->warn, WARN_OTHER, 1,
				_("orphan file: inode %u does not exist"), ino)) {
			o->err = EXT2_ET_BAD_INODE_NUM;
			return BLOCK_ABORT;
		}
	}
	return 0;
}

static errcode_t orphan_file(struct capture *c)
{
	ext2_filsys fs = c->fs;
	ext2_ino_t oino = fs->super->s_orphan_file_inum;
	struct ofile o = { c, NULL, NULL, NULL, 0, 0, 0 };
	struct ext2_inode inode;
	char *iter_buf = NULL;
	int type = fs->default_bitmap_type;
	ext2_ino_t ino = 0;
	errcode_t err;

	if (!ext2fs_has_feature_orphan_file(fs->super) || !oino)
		return 0;
	err = ext2fs_read_inode(fs, oino, &inode);
	if (err)
		return err;
	o.limit = capture_walk_limit(fs);
	fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	err = ext2fs_allocate_inode_bitmap(fs, "orphan file entries", &o.inos);
	if (!err)
		err = ext2fs_allocate_subcluster_bitmap(fs, "orphan file blocks", &o.read);
	fs->default_bitmap_type = type;
	if (!err)
		err = ext2fs_get_mem(fs->blocksize, &o.buf);
	if (!err)
		err = ext2fs_get_mem(fs->blocksize * 3, &iter_buf);
	if (!err)
		err = ext2fs_block_iterate3(fs, oino, BLOCK_FLAG_READ_ONLY,
					    iter_buf, ofile_block, &o);
	if (!err)
		err = o.err;
	/* Collected first: capture_inode may iterate blocks itself. */
	while (!err && ino < fs->super->s_inodes_count &&
	       !ext2fs_find_first_set_inode_bitmap2(o.inos, ino + 1,
						    fs->super->s_inodes_count, &ino))
		err = take(c, ino);
	if (o.inos)
		ext2fs_free_inode_bitmap(o.inos);
	if (o.read)
		ext2fs_free_block_bitmap(o.read);
	ext2fs_free_mem(&o.buf);
	ext2fs_free_mem(&iter_buf);
	return err;
}

/* Damage here costs the orphans' blocks, not the image. problem: the
 * warning, "%s" the reason; doing: the capture_error's. */
static errcode_t orphan_problem(struct capture *c, errcode_t err,
				const char *problem, const char *doing)
{
	if (err && stopped(c->stop))
		err = EINTR;
	if (!err || err == EXT2_ET_NO_MEMORY || err == EINTR)
		goto fatal;
	if (c->warn && !warn(c->warn, WARN_OTHER, 1, problem, error_message(err)))
		return 0;
fatal:
	if (err)
		c->err = (struct capture_error){ err, doing, 0 };
	return err;
}

errcode_t capture_orphans(struct capture *c)
{
	errcode_t err = orphan_problem(c, orphan_list(c),
				       _("%s while reading the orphan list; orphans may be missing"),
				       N_("while reading the orphan list of %s"));

	if (!err)
		err = orphan_problem(c, orphan_file(c),
				     _("%s while reading the orphan file; orphans may be missing"),
				     N_("while reading the orphan file of %s"));
	return err;
}
