/* The inode scan: one pass over the used part of every inode table. */
#include "capture.h"
#include "nls.h"

errcode_t capture_inodes(struct capture *c)
{
	ext2_filsys fs = c->fs;
	ext2_inode_scan scan;
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t err;
	/* Large reads: the scan is sequential over each inode table. */
	int buf_blocks = (1 << 20) / fs->blocksize;

	if (buf_blocks > (int)fs->inode_blocks_per_group)
		buf_blocks = fs->inode_blocks_per_group;
	err = ext2fs_open_inode_scan(fs, buf_blocks, &scan);
	if (err) {
		c->err = (struct capture_error){ err, N_("while opening inode scan"), 0 };
		return err;
	}
	for (;;) {
		err = ext2fs_get_next_inode(scan, &ino, &inode);
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
			continue;
		if (err) {
			c->err = (struct capture_error){ err, N_("while getting next inode"), ino };
			break;
		}
		if (ino == 0)
			break;
		c->stats.inodes_scanned++;
		/* Unlinked inodes that still matter are found by capture_orphans. */
		if (!inode.i_links_count)
			continue;
		err = capture_inode(c, ino, &inode);
		if (err) {
			c->err = (struct capture_error){ err, N_("while iterating over inode"), ino };
			break;
		}
	}
	ext2fs_close_inode_scan(scan);
	return err;
}
