/*
 * The journal e2fsck falls back to. When the journal inode is unusable
 * (cleared, unlinked, not a regular file), e2fsck rebuilds it from the
 * superblock's copy of its block map (s_jnl_blocks) and reads the journal
 * through that copy: the mapping blocks and the journal it names go into
 * the image, or e2fsck on the image finds no journal where the source has
 * one. On a healthy filesystem the copy names the blocks the inode does.
 */
#include <errno.h>
#include <string.h>
#include "capture.h"

errcode_t capture_journal_backup(struct capture *c)
{
	struct ext2_super_block *sb = c->fs->super;
	struct ext2_inode inode, cur;
	errcode_t err;

	if (!ext2fs_has_feature_journal(sb) || !sb->s_journal_inum ||
	    sb->s_journal_inum > sb->s_inodes_count ||
	    sb->s_jnl_backup_type != EXT3_JNL_BACKUP_BLOCKS)
		return 0;
	/* The same map as the inode's, walked by the scan already. */
	if (!ext2fs_read_inode(c->fs, sb->s_journal_inum, &cur) &&
	    !memcmp(cur.i_block, sb->s_jnl_blocks, sizeof(cur.i_block)) &&
	    cur.i_links_count && LINUX_S_ISREG(cur.i_mode))
		return 0;
	/* e2fsck walks the copy as a block map, never as an extent tree: an
	 * extent root there reads as two block numbers and a zero, where its
	 * walk stops, and nothing of the journal is reached. */
	if (!ext2fs_extent_header_verify(sb->s_jnl_blocks, sizeof(cur.i_block)))
		return 0;
	/* The inode e2fsck makes of the copy (e2fsck/journal.c). */
	memset(&inode, 0, sizeof(inode));
	memcpy(inode.i_block, sb->s_jnl_blocks, sizeof(inode.i_block));
	inode.i_size_high = sb->s_jnl_blocks[15];
	inode.i_size = sb->s_jnl_blocks[16];
	inode.i_links_count = 1;
	inode.i_mode = LINUX_S_IFREG | 0600;
	/* What e2fsck cannot read of it, it reports itself: no warning. */
	err = capture_walk(c, sb->s_journal_inum, &inode, BC_JOURNAL);
	return err == EXT2_ET_NO_MEMORY || err == ENOMEM || err == EINTR ? err : 0;
}
