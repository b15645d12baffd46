/*
 * Walking one inode's block map or extent tree, as e2fsck does: every
 * mapping block it reads is kept, whatever the inode's i_blocks claims
 * (e2fsck reads all of a map that claims too little, then reports it).
 * Walks are bounded by the filesystem's size, and an extent tree whose
 * nodes share children (a DAG, or a loop libext2fs does not see) has each
 * node walked once.
 */
#include <errno.h>
#include <et/com_err.h>
#include "capture.h"
#include "nls.h"

struct walk {
	struct capture *c;
	int data_class;    /* -1: mapping blocks only */
	int meta_class;
	errcode_t err;
	uint64_t seen;     /* block references followed */
	uint64_t limit;    /* more than this: the map is garbage */
	int nodes_read;    /* an index's child is kept only once read as a node */
	ext2fs_block_bitmap nodes; /* extent nodes entered, trees of depth >= 2 */
	int shared;        /* a node was named again: passed over, reported */
	ext2_ino_t ino;    /* the owner, for on_owned */
	const struct ext2_inode *inode;
};

/* Content blocks (not mapping blocks) are told to on_owned. */
static void owned(struct walk *w, e2_blkcnt_t lblk, uint64_t pblk, uint64_t n)
{
	struct capture *c = w->c;

	if (c->on_owned && w->data_class >= 0)
		c->on_owned(c->on_owned_arg, w->ino, w->inode,
			    (enum block_class)w->data_class, lblk, pblk, n);
}

/* An extent tree node: captured, and told to on_owned too (a block two
 * inodes claim, one as a node, is then left as that node). */
static errcode_t add_node(struct walk *w, uint64_t pblk)
{
	struct capture *c = w->c;
	errcode_t err = blockmap_add(c->map, pblk, 1, w->meta_class);

	if (!err && c->on_owned && w->meta_class == BC_EXTENT)
		c->on_owned(c->on_owned_arg, w->ino, w->inode, BC_EXTENT, -1, pblk, 1);
	return err;
}

uint64_t capture_walk_limit(ext2_filsys fs)
{
	/* A healthy map names each block of the filesystem at most once. */
	return ext2fs_blocks_count(fs->super);
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
		w->c->why = N_("more block references than the filesystem has blocks");
		w->err = EXT2_ET_BAD_BLOCK_NUM;
		return BLOCK_ABORT;
	}
	if (cl < 0)
		return 0;
	w->err = blockmap_add(w->c->map, *blocknr, 1, cl);
	if (!w->err && blockcnt >= 0)
		owned(w, blockcnt, *blocknr, 1);
	return w->err ? BLOCK_ABORT : 0;
}

/*
 * An index entry whose child node was entered before: its subtree is in
 * the map already. Returns the move that passes over it (the next sibling,
 * or back up), or 0 to go down as usual. Trees of depth 1 are left alone:
 * at most four leaves can repeat there (and libext2fs stops a loop back to
 * an ancestor by itself). A healthy tree never names a node twice, so the
 * inode is reported.
 */
static int skip_seen_child(struct walk *w, ext2_extent_handle_t h, blk64_t child)
{
	struct ext2_extent_info info;
	ext2_filsys fs = w->c->fs;
	int type;

	if (ext2fs_extent_get_info(h, &info) || info.max_depth < 2 ||
	    child < fs->super->s_first_data_block ||
	    child >= ext2fs_blocks_count(fs->super))
		return 0;
	if (!w->nodes) {
		type = fs->default_bitmap_type;
		/* memory grows with the nodes seen, not the filesystem */
		fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
		w->err = ext2fs_allocate_block_bitmap(fs, "extent nodes", &w->nodes);
		fs->default_bitmap_type = type;
		if (w->err)
			return 0;
	}
	if (!ext2fs_test_block_bitmap2(w->nodes, child)) {
		ext2fs_mark_block_bitmap2(w->nodes, child);
		return 0;
	}
	w->shared = 1;
	/* curr_entry counts from 1 (the header takes slot 0) */
	if (info.curr_entry < info.num_entries)
		return EXT2_EXTENT_NEXT_SIB;
	return info.curr_level > 0 ? EXT2_EXTENT_UP : -1;
}

/* The errors of going down into one child node that leave the walk able
 * to go on with the child's siblings. */
static int bad_child(errcode_t err)
{
	return err == EXT2_ET_EXTENT_HEADER_BAD || err == EXT2_ET_EXTENT_NO_DOWN ||
	       err == EXT2_ET_EXTENT_CYCLE || err == EXT2_ET_SHORT_READ ||
	       err == EIO;
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
	int flags = fs->flags, bad_csum = 0, level = 0;
	errcode_t bad_node = 0;
	struct ext2_extent_info info;

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
		if (op == EXT2_EXTENT_NEXT && ext2fs_extent_get_info(h, &info) == 0)
			level = info.curr_level;
		err = ext2fs_extent_get(h, op, &e);
		if (err == EXT2_ET_EXTENT_CSUM_INVALID) {
			bad_csum = 1;
			err = 0;
		}
		/* A child node that cannot be read, or is no node: e2fsck
		 * reports it and goes on with its siblings, and reads them;
		 * so does the walk (the node itself is in the map already). */
		if (err && op == EXT2_EXTENT_NEXT && !w->nodes_read &&
		    bad_child(err) && ++w->seen <= w->limit) {
			if (!bad_node)
				bad_node = err;
			op = EXT2_EXTENT_NEXT;
			if (ext2fs_extent_get_info(h, &info) == 0 &&
			    info.curr_level > level)
				op = EXT2_EXTENT_UP; /* it went down, then failed */
			continue;
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
			err = add_node(w, child);
			child = 0;
			if (err)
				break;
		}
		if (++w->seen > w->limit) {
			w->c->why = N_("more extents than the filesystem has blocks");
			err = EXT2_ET_BAD_BLOCK_NUM;
			break;
		}
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_LEAF)) {
			if (e.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)
				continue;
			op = skip_seen_child(w, h, e.e_pblk);
			if (w->err) {
				err = w->err;
				break;
			}
			if (op < 0)
				break; /* the root's last child, seen: done */
			if (op) 
				continue;
			op = EXT2_EXTENT_NEXT;
			if (w->nodes_read)
				child = e.e_pblk;
			else
				err = add_node(w, e.e_pblk);
		} else if (w->data_class >= 0) {
			err = blockmap_add(w->c->map, e.e_pblk, e.e_len,
					   w->data_class);
			if (!err)
				owned(w, (e2_blkcnt_t)e.e_lblk, e.e_pblk, e.e_len);
		}
		if (err)
			break;
	}
	fs->flags = flags;
	ext2fs_extent_free(h);
	if (w->nodes)
		ext2fs_free_block_bitmap(w->nodes);
	w->nodes = NULL;
	if (!err && bad_node) {
		w->c->why = N_("a node of its extent tree is damaged; its other nodes were walked");
		err = bad_node;
	}
	if (!err && w->shared) {
		w->c->why = N_("its extent tree names a node more than once (a loop or a shared subtree)");
		err = EXT2_ET_EXTENT_CYCLE;
	}
	if (!err && bad_csum) {
		w->c->why = N_("an extent tree block fails its checksum");
		err = EXT2_ET_EXTENT_CSUM_INVALID;
	}
	return err;
}

/* The inode block_iterate3 walks: the caller's copy, not the disk's. */
struct stash {
	ext2_ino_t ino;
	const struct ext2_inode *inode;
};

static errcode_t stashed_inode(ext2_filsys fs, ext2_ino_t ino,
			       struct ext2_inode *inode)
{
	const struct stash *st = fs->priv_data;

	if (ino != st->ino)
		return EXT2_ET_CALLBACK_NOTHANDLED;
	*inode = *st->inode;
	return 0;
}

/*
 * ext2fs_block_iterate3 reads the inode by number; the map walked must be
 * the one the caller holds (the superblock's backup of the journal's, an
 * inode read once by the orphan pass), so the read is answered from it.
 */
static errcode_t iterate_inode(ext2_filsys fs, ext2_ino_t ino,
			       const struct ext2_inode *inode, char *buf,
			       struct walk *w)
{
	struct stash st = { ino, inode };
	errcode_t (*hook)(ext2_filsys, ext2_ino_t, struct ext2_inode *) =
		fs->read_inode;
	void *priv = fs->priv_data;
	errcode_t err;

	fs->read_inode = stashed_inode;
	fs->priv_data = &st;
	err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, buf,
				    walk_block, w);
	fs->read_inode = hook;
	fs->priv_data = priv;
	return err;
}

errcode_t capture_walk(struct capture *c, ext2_ino_t ino,
		       struct ext2_inode *inode, int data_class)
{
	struct walk w = { c, data_class, BC_INDIRECT, 0, 0, 0, 0, NULL, 0,
			  ino, inode };
	errcode_t err;

	w.limit = capture_walk_limit(c->fs);
	if (ino == EXT2_RESIZE_INO)
		w.meta_class = BC_RESIZE;
	if (inode->i_flags & EXT4_EXTENTS_FL) {
		w.meta_class = BC_EXTENT;
		return walk_extents(&w, ino, inode);
	}
	err = iterate_inode(c->fs, ino, inode, c->block_buf, &w);
	return w.err ? w.err : err;
}

errcode_t capture_extent_nodes(struct capture *c, ext2_ino_t ino,
			       struct ext2_inode *inode)
{
	struct walk w = { c, -1, BC_EXTENT, 0, 0, 0, 1, NULL, 0, ino, inode };

	w.limit = capture_walk_limit(c->fs);
	return walk_extents(&w, ino, inode);
}
