/*
 * Device, fifo and socket inodes: the blocks e2fsck reads of them.
 *
 * Such an inode owns no blocks (ext2fs_inode_has_valid_blocks2 says so):
 * i_block holds a device number or nothing, and i_blocks may count only the
 * xattr block. Following i_block as a block map would copy whatever block
 * the device number happens to name -- file data of another inode.
 *
 * e2fsck's pass 1 (check_is_really_dir) still reads one block of such an
 * inode, to tell a directory whose mode was damaged: i_block[0] when every
 * i_block entry lies inside the filesystem (for a character or block device
 * with one link, only when an entry past the fourth is set), or logical
 * block 0 through the extent tree. It calls the inode a directory only when
 * that block starts with "." naming the inode, then "..". So the image
 * needs the extent tree's own blocks, and that first block only when it has
 * the directory shape -- then e2fsck -y walks the whole inode as a
 * directory, and so do we. Any other block stays out: e2fsck reaches the
 * same "not a directory" on the zeros of the image.
 */
#include "capture.h"

/* The block starts with "." naming ino, then "..", as e2fsck requires. */
static int looks_like_dir(ext2_filsys fs, ext2_ino_t ino, char *buf)
{
	struct ext2_dir_entry *de = (struct ext2_dir_entry *)buf;
	unsigned int len;

	if (ext2fs_get_rec_len(fs, de, &len) ||
	    ext2fs_dirent_name_len(de) != 1 || de->name[0] != '.' ||
	    de->inode != ino || len < 12 || len % 4 || len >= fs->blocksize - 12)
		return 0;
	de = (struct ext2_dir_entry *)(buf + len);
	if (ext2fs_get_rec_len(fs, de, &len) ||
	    ext2fs_dirent_name_len(de) != 2 || de->name[0] != '.' ||
	    de->name[1] != '.' || len < 12 || len % 4)
		return 0;
	return 1;
}

static int dir_shaped(struct capture *c, ext2_ino_t ino, blk64_t blk)
{
	errcode_t err;

	if (!blk || blk >= ext2fs_blocks_count(c->fs->super))
		return 0;
	/* The shape decides, not the checksum: a directory block that fails
	 * it is still one (and is copied as it is). */
	err = ext2fs_read_dir_block4(c->fs, blk, c->block_buf, 0, ino);
	if (err && err != EXT2_ET_DIR_CSUM_INVALID)
		return 0;
	return looks_like_dir(c->fs, ino, c->block_buf);
}

/* i_block[0] as e2fsck reads it from a block-mapped inode, or 0. */
static blk64_t mapped_first_block(ext2_filsys fs, const struct ext2_inode *inode)
{
	struct ext2_super_block *sb = fs->super;
	int i, not_device = 0;

	for (i = 0; i < EXT2_N_BLOCKS; i++) {
		blk64_t b = inode->i_block[i];

		if (!b)
			continue;
		if (i >= 4)
			not_device = 1;
		if (b < sb->s_first_data_block || b >= ext2fs_blocks_count(sb))
			return 0;
	}
	if ((LINUX_S_ISCHR(inode->i_mode) || LINUX_S_ISBLK(inode->i_mode)) &&
	    inode->i_links_count == 1 && !not_device)
		return 0;
	return inode->i_block[0];
}

/* The first block decides, so it is kept even if the walk then fails. */
static errcode_t walk_as_dir(struct capture *c, ext2_ino_t ino,
			     struct ext2_inode *inode, blk64_t first)
{
	errcode_t err = blockmap_add(c->map, first, 1, BC_DIRECTORY);

	return err ? err : capture_walk(c, ino, inode, BC_DIRECTORY);
}

errcode_t capture_special(struct capture *c, ext2_ino_t ino,
			  struct ext2_inode *inode)
{
	ext2_filsys fs = c->fs;
	const struct ext3_extent_header *eh =
		(const struct ext3_extent_header *)inode->i_block;
	int extent_fs = ext2fs_has_feature_extents(fs->super);
	blk64_t blk;
	errcode_t err = 0;

	/* e2fsck makes this check on the root and unreserved inodes only.
	 * Inline data: it judges the inode alone (and the xattrs, captured
	 * already). */
	if ((ino < EXT2_FIRST_INODE(fs->super) && ino != EXT2_ROOT_INO) ||
	    (ext2fs_has_feature_inline_data(fs->super) &&
	     (inode->i_flags & EXT4_INLINE_DATA_FL)) || !inode->i_block[0])
		return 0;
	/* e2fsck -y may turn the extents feature on before it looks, so
	 * a valid extent header counts on any filesystem. A damaged tree
	 * still has its first block judged (the walk as a directory then
	 * reports the damage). */
	if ((inode->i_flags & EXT4_EXTENTS_FL) &&
	    ext2fs_le16_to_cpu(eh->eh_magic) == EXT3_EXT_MAGIC) {
		if (ext2fs_le16_to_cpu(eh->eh_depth))
			err = capture_extent_nodes(c, ino, inode);
		if (!ext2fs_bmap2(fs, ino, inode, NULL, 0, 0, NULL, &blk) &&
		    dir_shaped(c, ino, blk))
			return walk_as_dir(c, ino, inode, blk);
	}
	if (extent_fs && (inode->i_flags & EXT4_EXTENTS_FL))
		return err;
	blk = mapped_first_block(fs, inode);
	if (dir_shaped(c, ino, blk))
		return walk_as_dir(c, ino, inode, blk);
	return err;
}
