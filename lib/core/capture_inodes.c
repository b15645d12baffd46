/*
 * The inode scan: one pass over the used part of every inode table. A
 * group whose table cannot be read is reported and skipped; the scan goes
 * on with the next group.
 */
#include <et/com_err.h>
#include "capture.h"
#include "nls.h"

struct scan_pos {
	dgrp_t group;    /* the group being scanned */
};

static errcode_t next_group(ext2_filsys fs, ext2_inode_scan scan,
			    dgrp_t group, void *priv)
{
	struct scan_pos *pos = priv;

	(void)fs; (void)scan;
	pos->group = group + 1;
	return 0;
}

errcode_t capture_inodes(struct capture *c)
{
	ext2_filsys fs = c->fs;
	ext2_inode_scan scan;
	struct ext2_inode inode;
	struct scan_pos pos = { 0 };
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
	/* A group without an inode table has no inodes to give. */
	ext2fs_inode_scan_flags(scan, EXT2_SF_SKIP_MISSING_ITABLE, 0);
	ext2fs_set_inode_callback(scan, next_group, &pos);
	for (;;) {
		if (c->stop && *c->stop) {
			err = EINTR;
			c->err = (struct capture_error){ err, N_("while scanning the inodes"), 0 };
			break;
		}
		err = ext2fs_get_next_inode(scan, &ino, &inode);
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
			continue;
		if (err) {
			dgrp_t g = pos.group;

			if (!c->warn ||
			    (!capture_group_warned(c, g) &&
			     warn(c->warn, WARN_GROUP, 1,
				  _("group %u: %s while reading its inode table; its inodes are skipped"),
				  g, error_message(err)))) {
				c->err = (struct capture_error){ err, N_("while getting next inode"), ino };
				break;
			}
			err = 0;
			if (g + 1 >= fs->group_desc_count ||
			    ext2fs_inode_scan_goto_blockgroup(scan, g + 1))
				break;
			pos.group = g + 1;
			continue;
		}
		if (ino == 0)
			break;
		c->stats.inodes_scanned++;
		/* Unlinked inodes that still matter are found by capture_orphans. */
		if (!inode.i_links_count)
			continue;
		err = capture_inode_or_warn(c, ino, &inode);
		if (err) {
			c->err = (struct capture_error){ err, N_("while iterating over inode"), ino };
			break;
		}
	}
	ext2fs_close_inode_scan(scan);
	return err;
}
