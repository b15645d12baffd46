/* The blocks one inode contributes, by the rules of its type. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <et/com_err.h>
#include "capture.h"
#include "nls.h"

errcode_t capture_init(struct capture *c, ext2_filsys fs,
		       const struct capture_opts *opts, struct blockmap *map,
		       struct e2i_warnings *warn)
{
	memset(c, 0, sizeof(*c));
	c->fs = fs;
	c->opts = *opts;
	c->map = map;
	c->warn = warn;
	return ext2fs_get_mem(fs->blocksize * 3, &c->block_buf);
}

void capture_free(struct capture *c)
{
	if (c->block_buf)
		ext2fs_free_mem(&c->block_buf);
	free(c->group_warned);
	c->group_warned = NULL;
}

int capture_group_warned(struct capture *c, dgrp_t g)
{
	if (!c->group_warned) {
		c->group_warned = calloc(c->fs->group_desc_count / 8 + 1, 1);
		if (!c->group_warned)
			return 0;
	}
	if (c->group_warned[g / 8] & (1u << (g % 8)))
		return 1;
	c->group_warned[g / 8] |= 1u << (g % 8);
	return 0;
}

/* Inodes whose every block is metadata, whatever their type says. */
static int special_class(ext2_filsys fs, ext2_ino_t ino, enum block_class *cl)
{
	struct ext2_super_block *sb = fs->super;

	if (ino == sb->s_journal_inum)
		*cl = BC_JOURNAL;
	else if (ino == EXT4_USR_QUOTA_INO || ino == EXT4_GRP_QUOTA_INO ||
		 ino == sb->s_usr_quota_inum || ino == sb->s_grp_quota_inum ||
		 (sb->s_prj_quota_inum && ino == sb->s_prj_quota_inum))
		*cl = BC_QUOTA;
	else if (sb->s_orphan_file_inum && ino == sb->s_orphan_file_inum)
		*cl = BC_ORPHAN_FILE;
	else
		return 0;
	return 1;
}

struct walk {
	struct capture *c;
	int data_class;    /* -1: mapping blocks only */
	int meta_class;
	errcode_t err;
	uint64_t seen;     /* block references followed */
	uint64_t limit;    /* more than this: the map is garbage */
	int nodes_read;    /* an index's child is kept only once read as a node */
};

uint64_t capture_walk_limit(ext2_filsys fs, const struct ext2_inode *inode)
{
	uint64_t owned = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)inode) /
			 (fs->blocksize / 512);
	uint64_t limit = 2 * owned + 1024;
	uint64_t all = ext2fs_blocks_count(fs->super);

	return limit < all ? limit : all;
}

static int walk_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		      blk64_t ref_blk, int ref_offset, void *priv)
{
	struct walk *w = priv;
	int cl = blockcnt < 0 ? w->meta_class : w->data_class;

	(void)fs; (void)ref_blk; (void)ref_offset;
	/* One damaged inode can name millions of blocks: a stop ends it. */
	if (stopped(w->c->stop)) {
		w->err = EINTR;
		return BLOCK_ABORT;
	}
	if (++w->seen > w->limit) {
		w->c->why = N_("more block references than the inode can own");
		w->err = EXT2_ET_BAD_BLOCK_NUM;
		return BLOCK_ABORT;
	}
	if (cl < 0)
		return 0;
	w->err = blockmap_add(w->c->map, *blocknr, 1, cl);
	return w->err ? BLOCK_ABORT : 0;
}

static errcode_t walk_extents(struct walk *w, ext2_ino_t ino,
			      struct ext2_inode *inode)
{
	struct ext3_extent_header *eh = (struct ext3_extent_header *)inode->i_block;
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	errcode_t err;
	int op = EXT2_EXTENT_ROOT;
	blk64_t child = 0; /* with nodes_read: the node the next get reads */

	ext2_filsys fs = w->c->fs;
	int flags = fs->flags, bad_csum = 0;

	/* A tree that lives wholly in the inode has no mapping blocks. */
	if (w->data_class < 0 && eh->eh_depth == 0)
		return ext2fs_extent_header_verify(inode->i_block,
						   sizeof(inode->i_block));
	err = ext2fs_extent_open2(fs, ino, inode, &h);
	if (err)
		return err;
	/* Checksums are checked here (the filesystem was opened ignoring
	 * them): a block that fails is still walked, and reported. */
	fs->flags &= ~EXT2_FLAG_IGNORE_CSUM_ERRORS;
	for (;;) {
		err = ext2fs_extent_get(h, op, &e);
		if (err == EXT2_ET_EXTENT_CSUM_INVALID) {
			bad_csum = 1;
			err = 0;
		}
		if (err) {
			if (err == EXT2_ET_EXTENT_NO_NEXT)
				err = 0;
			break;
		}
		op = EXT2_EXTENT_NEXT;
		if (stopped(w->c->stop)) {
			err = EINTR;
			break;
		}
		/* The get after an index's first visit goes down into it. */
		if (child) {
			err = blockmap_add(w->c->map, child, 1, w->meta_class);
			child = 0;
			if (err)
				break;
		}
		if (++w->seen > w->limit) {
			w->c->why = N_("more extents than the inode can own");
			err = EXT2_ET_BAD_BLOCK_NUM;
			break;
		}
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_LEAF)) {
			if (e.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)
				;
			else if (w->nodes_read)
				child = e.e_pblk;
			else
				err = blockmap_add(w->c->map, e.e_pblk, 1,
						   w->meta_class);
		} else if (w->data_class >= 0) {
			err = blockmap_add(w->c->map, e.e_pblk, e.e_len,
					   w->data_class);
		}
		if (err)
			break;
	}
	fs->flags = flags;
	ext2fs_extent_free(h);
	if (!err && bad_csum) {
		w->c->why = N_("an extent tree block fails its checksum");
		err = EXT2_ET_EXTENT_CSUM_INVALID;
	}
	return err;
}

errcode_t capture_walk(struct capture *c, ext2_ino_t ino,
		       struct ext2_inode *inode, int data_class)
{
	struct walk w = { c, data_class, BC_INDIRECT, 0, 0, 0, 0 };
	errcode_t err;

	w.limit = capture_walk_limit(c->fs, inode);
	if (ino == EXT2_RESIZE_INO)
		w.meta_class = BC_RESIZE;
	if (inode->i_flags & EXT4_EXTENTS_FL) {
		w.meta_class = BC_EXTENT;
		return walk_extents(&w, ino, inode);
	}
	err = ext2fs_block_iterate3(c->fs, ino, BLOCK_FLAG_READ_ONLY,
				    c->block_buf, walk_block, &w);
	return w.err ? w.err : err;
}

errcode_t capture_extent_nodes(struct capture *c, ext2_ino_t ino,
			       struct ext2_inode *inode)
{
	struct walk w = { c, -1, BC_EXTENT, 0, 0, 0, 1 };

	w.limit = capture_walk_limit(c->fs, inode);
	return walk_extents(&w, ino, inode);
}

errcode_t capture_inode(struct capture *c, ext2_ino_t ino,
			struct ext2_inode *inode)
{
	ext2_filsys fs = c->fs;
	blk64_t acl = ext2fs_file_acl_block(fs, inode);
	enum block_class cl;
	errcode_t err;

	c->why = NULL;
	if (acl) {
		err = blockmap_add(c->map, acl, 1, BC_XATTR);
		if (err)
			return err;
	}
	if (!LINUX_S_ISDIR(inode->i_mode) && !LINUX_S_ISREG(inode->i_mode) &&
	    !LINUX_S_ISLNK(inode->i_mode)) {
		/* e2fsck gives these their regular mode back, then reads them */
		if (special_class(fs, ino, &cl))
			return capture_walk(c, ino, inode, cl);
		return capture_special(c, ino, inode);
	}
	if (!ext2fs_inode_has_valid_blocks2(fs, inode))
		return 0;
	if (LINUX_S_ISDIR(inode->i_mode))
		return capture_walk(c, ino, inode, BC_DIRECTORY);
	if (LINUX_S_ISLNK(inode->i_mode))
		return capture_walk(c, ino, inode, BC_SYMLINK);
	if (special_class(fs, ino, &cl))
		return capture_walk(c, ino, inode, cl);
	if (c->opts.all_data)
		return capture_walk(c, ino, inode, BC_DATA);
	if ((inode->i_flags & EXT4_EXTENTS_FL) ||
	    inode->i_block[EXT2_IND_BLOCK] || inode->i_block[EXT2_DIND_BLOCK] ||
	    inode->i_block[EXT2_TIND_BLOCK])
		return capture_walk(c, ino, inode, -1);
	return 0;
}

errcode_t capture_inode_or_warn(struct capture *c, ext2_ino_t ino,
				struct ext2_inode *inode)
{
	uint64_t oor = c->map->out_of_range;
	errcode_t err = capture_inode(c, ino, inode);
	char past[96] = "";

	if (err == EXT2_ET_NO_MEMORY || err == ENOMEM || err == EINTR || !c->warn)
		return err;
	oor = c->map->out_of_range - oor;
	if (!err && !oor)
		return 0;
	if (oor)
		snprintf(past, sizeof(past),
			 _("%llu block numbers past the end of the filesystem ignored"),
			 (unsigned long long)oor);
	/* One line per inode, whatever is wrong with it. */
	if (warn(c->warn, WARN_INODE, 1, err ? _("inode %u: %s%s%s; kept the blocks found before the damage")
					      : _("inode %u: %s%s%s"),
		 ino, err ? (c->why ? _(c->why) : error_message(err)) : "",
		 err && oor ? "; " : "", past))
		return err ? err : EXT2_ET_BAD_BLOCK_NUM;
	return 0;
}
