/* The blocks one inode contributes, by the rules of its type. */
#include <stdlib.h>
#include "capture.h"

errcode_t capture_init(struct capture *c, ext2_filsys fs,
		       const struct capture_opts *opts, struct blockmap *map)
{
	memset(c, 0, sizeof(*c));
	c->fs = fs;
	c->opts = *opts;
	c->map = map;
	return ext2fs_get_mem(fs->blocksize * 3, &c->block_buf);
}

void capture_free(struct capture *c)
{
	if (c->block_buf)
		ext2fs_free_mem(&c->block_buf);
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
};

static int walk_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		      blk64_t ref_blk, int ref_offset, void *priv)
{
	struct walk *w = priv;
	int cl = blockcnt < 0 ? w->meta_class : w->data_class;

	(void)fs; (void)ref_blk; (void)ref_offset;
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

	/* A tree that lives wholly in the inode has no mapping blocks. */
	if (w->data_class < 0 &&
	    ext2fs_le16_to_cpu(eh->eh_magic) == EXT3_EXT_MAGIC &&
	    eh->eh_depth == 0)
		return 0;
	err = ext2fs_extent_open2(w->c->fs, ino, inode, &h);
	if (err)
		return err;
	for (;;) {
		err = ext2fs_extent_get(h, op, &e);
		if (err) {
			if (err == EXT2_ET_EXTENT_NO_NEXT)
				err = 0;
			break;
		}
		op = EXT2_EXTENT_NEXT;
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_LEAF)) {
			if (!(e.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT))
				err = blockmap_add(w->c->map, e.e_pblk, 1,
						   w->meta_class);
		} else if (w->data_class >= 0) {
			err = blockmap_add(w->c->map, e.e_pblk, e.e_len,
					   w->data_class);
		}
		if (err)
			break;
	}
	ext2fs_extent_free(h);
	return err;
}

static errcode_t walk_inode(struct capture *c, ext2_ino_t ino,
			    struct ext2_inode *inode, int data_class)
{
	struct walk w = { c, data_class, BC_INDIRECT, 0 };
	errcode_t err;

	if (ino == EXT2_RESIZE_INO)
		w.meta_class = BC_RESIZE;
	if (inode->i_flags & EXT4_EXTENTS_FL) {
		w.meta_class = BC_EXTENT;
		return walk_extents(&w, ino, inode);
	}
	err = ext2fs_block_iterate3(c->fs, ino, BLOCK_FLAG_READ_ONLY,
				    c->block_buf, walk_block, &w);
	return err ? err : w.err;
}

errcode_t capture_inode(struct capture *c, ext2_ino_t ino,
			struct ext2_inode *inode)
{
	ext2_filsys fs = c->fs;
	blk64_t acl = ext2fs_file_acl_block(fs, inode);
	enum block_class cl;
	errcode_t err;

	if (acl) {
		err = blockmap_add(c->map, acl, 1, BC_XATTR);
		if (err)
			return err;
	}
	if (!ext2fs_inode_has_valid_blocks2(fs, inode))
		return 0;
	c->stats.inodes_walked++;
	if (LINUX_S_ISDIR(inode->i_mode))
		return walk_inode(c, ino, inode, BC_DIRECTORY);
	if (LINUX_S_ISLNK(inode->i_mode))
		return walk_inode(c, ino, inode, BC_SYMLINK);
	if (special_class(fs, ino, &cl))
		return walk_inode(c, ino, inode, cl);
	if (c->opts.all_data)
		return walk_inode(c, ino, inode, BC_DATA);
	if ((inode->i_flags & EXT4_EXTENTS_FL) ||
	    inode->i_block[EXT2_IND_BLOCK] || inode->i_block[EXT2_DIND_BLOCK] ||
	    inode->i_block[EXT2_TIND_BLOCK])
		return walk_inode(c, ino, inode, -1);
	return 0;
}
