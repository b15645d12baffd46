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

void capture_error_text(const struct capture_error *e, const char *fs_name,
			char *buf, size_t len)
{
	if (!e->doing)
		snprintf(buf, len, _("while capturing the metadata of %s"), fs_name);
	else if (e->ino)
		snprintf(buf, len, _(e->doing), e->ino, fs_name);
	else
		snprintf(buf, len, _(e->doing), fs_name);
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

int capture_even_unlinked(ext2_filsys fs, ext2_ino_t ino)
{
	/* e2fsck's pass 1 checks the block map of every reserved inode, and
	 * its journal code reads the inode the superblock names, whatever
	 * their link counts. */
	return ino < EXT2_FIRST_INODE(fs->super) ||
	       (ino == fs->super->s_journal_inum);
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
		if (c->on_owned)
			c->on_owned(c->on_owned_arg, ino, inode, BC_XATTR, -1, acl, 1);
	}
	/* The bad blocks list: e2fsck reads its indirect blocks, never the
	 * bad blocks themselves, whatever the inode's mode. */
	if (ino == EXT2_BAD_INO)
		return capture_walk(c, ino, inode, -1);
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
	const char *why;
	int stop;

	if (err == EXT2_ET_NO_MEMORY || err == ENOMEM || err == EINTR || !c->warn)
		return err;
	oor = c->map->out_of_range - oor;
	if (!err && !oor)
		return 0;
	why = err ? (c->why ? _(c->why) : error_message(err)) : NULL;
	/* One line per inode, whatever is wrong with it. */
	if (!err)
		stop = warn_about(c->warn, WARN_INODE, ino, 1,
			    ngettext("inode %u: %llu block number past the end of the filesystem ignored",
				     "inode %u: %llu block numbers past the end of the filesystem ignored",
				     oor),
			    ino, (unsigned long long)oor);
	else if (oor)
		stop = warn_about(c->warn, WARN_INODE, ino, 1,
			    ngettext("inode %u: %s; %llu block number past the end of the filesystem ignored; kept the blocks it could still identify",
				     "inode %u: %s; %llu block numbers past the end of the filesystem ignored; kept the blocks it could still identify",
				     oor),
			    ino, why, (unsigned long long)oor);
	else
		stop = warn_about(c->warn, WARN_INODE, ino, 1,
			    _("inode %u: %s; kept the blocks it could still identify"),
			    ino, why);
	if (stop)
		return err ? err : EXT2_ET_BAD_BLOCK_NUM;
	return 0;
}
