/*
 * Capture: decides which blocks of a filesystem go into an image, and why.
 * Fills a block map; reads metadata through libext2fs, never writes.
 */
#ifndef E2I_CAPTURE_H
#define E2I_CAPTURE_H

#include "stop.h"
#include <ext2fs/ext2fs.h>
#include "blockmap.h"
#include "warn.h"

struct capture_opts {
	int all_data;       /* -a: file data too */
	int whole_itables;  /* block device output: unused inode table too */
	blk64_t backup_sb;  /* -b: also keep this superblock and its descriptors */
};

struct capture_stats {
	uint64_t inodes_scanned;
	uint64_t orphans;       /* unlinked inodes still owning blocks */
};

/*
 * Where a capture step stopped: the operation and the inode, for a message
 * such as "while iterating over inode 6016 of fs.img". doing is an
 * untranslated format (N_()): "%u" the inode then "%s" the filesystem when
 * ino is set, "%s" the filesystem alone when not; capture_error_text()
 * fills it in.
 */
struct capture_error {
	errcode_t code;
	const char *doing;
	ext2_ino_t ino;
};

struct capture {
	ext2_filsys fs;
	struct capture_opts opts;
	struct blockmap *map;
	struct capture_stats stats;
	struct capture_error err;
	/* Damage is reported here and the capture goes on (NULL: every
	 * problem is fatal). */
	struct e2i_warnings *warn;
	/* Set by a signal handler: the scan stops at the next inode. */
	e2i_stop *stop;
	/* Why the last capture_inode() failed, when not a libext2fs error. */
	const char *why;
	char *block_buf; /* scratch for libext2fs iterators */
	/* Told of each block an inode holds its own content in (directory,
	 * symlink, xattr block, journal), with the owner and the logical
	 * block (-1 for an xattr block), and of each extent tree node
	 * (BC_EXTENT, -1): a job that rewrites content (--anonymize) needs
	 * the owner for checksums, and to know a node it must not rewrite.
	 * NULL: nobody asks. */
	void (*on_owned)(void *arg, ext2_ino_t ino, const struct ext2_inode *inode,
			 enum block_class c, e2_blkcnt_t lblk, uint64_t pblk,
			 uint64_t n);
	void *on_owned_arg;
	unsigned char *group_warned; /* one warning per group, a bit each */
};

errcode_t capture_init(struct capture *c, ext2_filsys fs,
		       const struct capture_opts *opts, struct blockmap *map,
		       struct e2i_warnings *warn);
void capture_free(struct capture *c);
/* What e was doing, translated, naming the filesystem fs_name. */
void capture_error_text(const struct capture_error *e, const char *fs_name,
			char *buf, size_t len);
/* True when group g was reported already; marks it reported. */
int capture_group_warned(struct capture *c, dgrp_t g);

/* The fixed tables: superblocks, descriptors, bitmaps, inode tables, MMP.
 * With opts.backup_sb, that superblock and its descriptors too. */
errcode_t capture_tables(struct capture *c);
/* True when the group descriptors fail the checks that make e2fsck use the
 * backup superblock's (*group: the first group that fails). */
int capture_desc_damaged(ext2_filsys fs, dgrp_t *group);
/* Every linked inode's blocks, by the rules of its type. */
errcode_t capture_inodes(struct capture *c);
/* The journal as e2fsck rebuilds it from the superblock's copy of its
 * block map when the journal inode is unusable (capture_journal.c). */
errcode_t capture_journal_backup(struct capture *c);
/* Unlinked inodes on the orphan list or in the orphan file. */
errcode_t capture_orphans(struct capture *c);
/* What follows the tables: the inodes, the journal's backup, the
 * orphans; and everything, tables first. */
errcode_t capture_rest(struct capture *c);
errcode_t capture_all(struct capture *c);
/* One inode's blocks (shared by the inode scan and the orphan pass). On a
 * damaged block map, what was found before the damage stays in the map. */
errcode_t capture_inode(struct capture *c, ext2_ino_t ino,
			struct ext2_inode *inode);
/* Used by capture_inode(): walk an inode's block map or extent tree, its
 * data blocks as data_class (-1: mapping blocks only). */
errcode_t capture_walk(struct capture *c, ext2_ino_t ino,
		       struct ext2_inode *inode, int data_class);
/* The blocks of an extent tree (no data), each only once it has been read
 * as an extent node: what a device, fifo or socket may point at. */
errcode_t capture_extent_nodes(struct capture *c, ext2_ino_t ino,
			       struct ext2_inode *inode);
/* A device, fifo or socket: what e2fsck reads of it (capture_special.c). */
errcode_t capture_special(struct capture *c, ext2_ino_t ino,
			  struct ext2_inode *inode);
/* A damaged tree can name millions of blocks: no more references are
 * followed than the filesystem has blocks (not what i_blocks claims:
 * e2fsck reads a map that claims too little to the end). */
uint64_t capture_walk_limit(ext2_filsys fs);
/* True for the inodes e2fsck reads even with no links: the reserved ones
 * and the journal the superblock names. */
int capture_even_unlinked(ext2_filsys fs, ext2_ino_t ino);
/* capture_inode() plus the report: returns nonzero when the job must stop. */
errcode_t capture_inode_or_warn(struct capture *c, ext2_ino_t ino,
				struct ext2_inode *inode);

#endif
