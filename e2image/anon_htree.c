/*
 * Hash-indexed directories, read before the copy: the tree walked as
 * e2fsck walks it (its index nodes, and each leaf's range of hashes), and
 * each leaf's live names, for anon_hnames.c to choose new ones that keep
 * their leaves' ranges.
 */
#include <stdlib.h>
#include <string.h>
#include "anon_htree.h"

#define MAX_WALK 16  /* nodes deep, whatever the root says */

static uint64_t pblk_of(const struct hdir *h, uint32_t lblk)
{
	size_t lo = 0, hi = h->nruns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->runs[mid]->lblk <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || lblk - h->runs[lo - 1]->lblk >= h->runs[lo - 1]->n)
		return 0;
	return h->runs[lo - 1]->pblk + (lblk - h->runs[lo - 1]->lblk);
}

static int read_lblk(struct hdir *h, uint32_t lblk, uint64_t *pblk)
{
	*pblk = pblk_of(h, lblk);
	return *pblk && !io_channel_read_blk64(h->a->fs->io, *pblk, 1, h->buf);
}

int anon_hash_of(const struct hdir *h, const char *name, unsigned len,
		 uint32_t *out)
{
	ext2_dirhash_t v;

	if (ext2fs_dirhash2(h->version, name, (int)len, h->a->fs->encoding,
			    h->flags, h->a->fs->super->s_hash_seed, &v, NULL))
		return 0;
	*out = v & ~1u;
	return 1;
}

/* What e2fsck -n takes block lblk for: NODE_READ, an index node it reads
 * (an empty entry without a name spanning the block, and the limit that
 * leaves room for the entries and the checksum tail), whatever the depth
 * the root says; NODE_SHAPE, the shape with another limit (e2fsck reads an
 * empty leaf there, and passes over the slots: they are kept as a node's,
 * no name is in them); else 0, a leaf. Read into a scratch block: the
 * caller's buffer holds its node. */
enum { NODE_SHAPE = 1, NODE_READ };

static int is_node(struct hdir *h, uint32_t lblk)
{
	uint64_t pblk = pblk_of(h, lblk);
	const struct ext2_dir_entry *de = (const void *)h->a->scratch;
	unsigned csum = ext2fs_has_feature_metadata_csum(h->a->fs->super) ? 8 : 0;
	struct ext2_dx_countlimit cl;
	unsigned rec_len;

	if (!lblk || !pblk || io_channel_read_blk64(h->a->fs->io, pblk, 1, h->a->scratch))
		return 0;
	(void)ext2fs_get_rec_len(h->a->fs, (struct ext2_dir_entry *)de, &rec_len);
	if (de->inode || ext2fs_dirent_name_len(de) || rec_len != h->a->blocksize)
		return 0;
	memcpy(&cl, h->a->scratch + 8, sizeof(cl));
	return ext2fs_le16_to_cpu(cl.limit) == (h->a->blocksize - 8 - csum) / 8 ?
	       NODE_READ : NODE_SHAPE;
}

/* True when pblk is a node met already (e2fsck parses a block once). */
static int walked(const struct hdir *h, uint64_t pblk)
{
	size_t i;

	for (i = 0; i < h->nnodes; i++)
		if (h->nodes[i] == pblk)
			return 1;
	return 0;
}

static int walk_node(struct hdir *h, unsigned off, int level, uint32_t lo,
		     uint64_t hi)
{
	const struct ext2_dx_entry *ent;
	struct ext2_dx_countlimit cl;
	unsigned csum = ext2fs_has_feature_metadata_csum(h->a->fs->super) ? 8 : 0;
	unsigned count, room, i;
	unsigned char *save;
	uint64_t pblk;
	int ok = 1, kind;

	/* a tree names each block once: more references than the directory
	 * has blocks is a crafted tree that repeats children (an exponential
	 * walk), given up as unreadable */
	if (off + 8 + csum > h->a->blocksize || h->nleaves + h->nnodes > 2 * h->nblocks)
		return 0;
	/* as e2fsck reads a damaged node: no more entries than fit */
	memcpy(&cl, h->buf + off, sizeof(cl));  /* (unaligned after an odd info_length) */
	count = ext2fs_le16_to_cpu(cl.count);
	room = (h->a->blocksize - off - csum) / 8;
	if (count > room)
		count = room;
	if (!count)
		return 1;
	/* children are read into the buffer: this node's entries are copied
	 * (aligned there) */
	save = malloc(count * 8u);
	if (!save)
		return 0;
	memcpy(save, h->buf + off, count * 8u);
	ent = (const void *)save;
	for (i = 0; ok && i < count; i++) {
		uint32_t blk = ext2fs_le32_to_cpu(ent[i].block) & 0x0fffffff;
		uint32_t a = i ? ext2fs_le32_to_cpu(ent[i].hash) & ~1u : 0;
		uint64_t b = i + 1 < count ? ext2fs_le32_to_cpu(ent[i + 1].hash) & ~1u : 1ull << 32;

		/* within the parent's range too, as the kernel looks names
		 * up; where the two do not meet (a damaged tree), the entry's
		 * own range, the one e2fsck checks */
		if ((a > lo ? a : lo) < (b < hi ? b : hi)) {
			a = a > lo ? a : (uint32_t)lo;
			b = b < hi ? b : hi;
		}
		/* a child that is not there is passed over, as by e2fsck; one
		 * is a node or a leaf as e2fsck tells them, whatever the depth
		 * says (a damaged root's indirect_levels) */
		if ((kind = is_node(h, blk))) {
			if (!read_lblk(h, blk, &pblk) || walked(h, pblk))
				continue;
			/* deeper than any tree: a crafted chain of nodes,
			 * given up as unreadable */
			if (level >= MAX_WALK) {
				ok = 0;
				break;
			}
			ok = anon_grow((void **)&h->nodes, &h->capnodes, h->nnodes,
				       sizeof(*h->nodes));
			if (ok) {
				h->nodes[h->nnodes++] = pblk;
				if (kind == NODE_READ)
					ok = walk_node(h, 8, level + 1, a, b);
			}
			continue;
		}
		pblk = pblk_of(h, blk);
		if (!pblk)
			continue;
		ok = anon_grow((void **)&h->leaves, &h->capleaves, h->nleaves,
			       sizeof(*h->leaves));
		if (ok)
			h->leaves[h->nleaves++] = (struct hleaf){ pblk, a, b };
	}
	free(save);
	return ok;
}

static int by_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * e2fsck reads every block shaped as an index node, reached from the root
 * or not (a damaged count or entry leaves nodes behind), and checks the
 * leaves they name against their entries. In a healthy tree every block
 * was reached; otherwise the blocks the walk did not meet are read, and
 * the nodes among them walked from their own entries.
 */
static int unreached_nodes(struct hdir *h)
{
	size_t i, n = h->nleaves + h->nnodes, r;
	uint64_t *seen;
	int ok = 1;

	if (n >= h->nblocks)
		return 1;
	seen = malloc(n * sizeof(*seen));
	if (!seen)
		return 0;
	for (i = 0; i < h->nleaves; i++)
		seen[i] = h->leaves[i].pblk;
	memcpy(seen + h->nleaves, h->nodes, h->nnodes * sizeof(*seen));
	qsort(seen, n, sizeof(*seen), by_u64);
	for (r = 0; ok && r < h->nruns; r++) {
		for (i = 0; ok && i < h->runs[r]->n; i++) {
			uint64_t pblk = h->runs[r]->pblk + i;
			uint32_t lblk = h->runs[r]->lblk + (uint32_t)i;
			int kind;

			if (bsearch(&pblk, seen, n, sizeof(*seen), by_u64) ||
			    !(kind = is_node(h, lblk)) || walked(h, pblk))
				continue;
			ok = anon_grow((void **)&h->nodes, &h->capnodes, h->nnodes,
				       sizeof(*h->nodes));
			if (!ok)
				break;
			h->nodes[h->nnodes++] = pblk;
			if (kind == NODE_READ)
				ok = read_lblk(h, lblk, &pblk) &&
				     walk_node(h, 8, 1, 0, 1ull << 32);
		}
	}
	free(seen);
	return ok;
}

static int by_leaf_pblk(const void *x, const void *y)
{
	const struct hleaf *a = *(const struct hleaf *const *)x;
	const struct hleaf *b = *(const struct hleaf *const *)y;

	if (a->pblk != b->pblk)
		return a->pblk < b->pblk ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* A block named twice (a damaged tree, or a node named as a leaf) is
 * given names once: its later mentions are dropped. */
static int once_each(struct hdir *h)
{
	struct hleaf **by = malloc((h->nleaves + 1) * sizeof(*by));
	size_t i, j, n = h->nleaves;
	unsigned char *drop = calloc(n + 1, 1);

	if (!by || !drop) {
		free(by);
		free(drop);
		return 0;
	}
	for (i = 0; i < n; i++)
		by[i] = &h->leaves[i];
	if (n)
		qsort(by, n, sizeof(*by), by_leaf_pblk);
	for (i = 1; i < n; i++) {
		struct hleaf *keep = by[i - 1];

		if (by[i]->pblk != keep->pblk)
			continue;
		/* e2fsck checks the names against each mention's range in
		 * turn: they must fit them all (or, where nothing does, the
		 * last, the one e2fsck keeps) */
		if (by[i]->lo > keep->lo)
			keep->lo = by[i]->lo;
		if (by[i]->hi < keep->hi)
			keep->hi = by[i]->hi;
		if (keep->lo >= keep->hi) {
			keep->lo = by[i]->lo;
			keep->hi = by[i]->hi;
		}
		drop[by[i] - h->leaves] = 1;
		by[i] = keep;
	}
	qsort(h->nodes, h->nnodes, sizeof(*h->nodes), by_u64);
	for (i = 0; i < n; i++)
		if (bsearch(&h->leaves[i].pblk, h->nodes, h->nnodes, sizeof(*h->nodes), by_u64))
			drop[i] = 1;
	for (i = j = 0; i < n; i++)
		if (!drop[i])
			h->leaves[j++] = h->leaves[i];
	h->nleaves = j;
	free(by);
	free(drop);
	return 1;
}

/* The live names of leaf j, in entry order (the order anon_dir.c meets
 * them in). */
static int collect(struct hdir *h, uint32_t j)
{
	struct hleaf *l = &h->leaves[j];
	unsigned off = 0, bs = h->a->blocksize, rec_len, len;

	if (io_channel_read_blk64(h->a->fs->io, l->pblk, 1, h->buf))
		return 0;
	while (off + 8 <= bs) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *)(h->buf + off);
		const char *name = (const char *)h->buf + off + 8;
		struct hent *e;
		uint32_t hv = 0;

		(void)ext2fs_get_rec_len(h->a->fs, de, &rec_len);
		len = ext2fs_dirent_name_len(de);
		if (rec_len < 8 || rec_len % 4 || rec_len > bs - off || len + 8 > rec_len)
			break;
		off += rec_len;
		if (!de->inode || !len || anon_keeps(h->d, (const unsigned char *)name, len))
			continue;
		if (!anon_grow((void **)&h->ents, &h->capents, h->nents, sizeof(*h->ents)) ||
		    !anon_grow((void **)&h->olds, &h->olds_cap, h->olds_len + len, 1))
			return 0;
		e = &h->ents[h->nents++];
		e->len = (uint16_t)len;
		e->home = j;
		e->k = UINT64_MAX;
		e->stays = 0;
		e->old = h->olds_len;
		memcpy(h->olds + h->olds_len, name, len);
		h->olds_len += len;
		/* e2fsck's range is inclusive of the next entry's hash */
		e->leaf = NO_LEAF;
		e->lo = 0;
		e->hi = 1ull << 32;
		e->ohashed = (uint8_t)anon_hash_of(h, name, len, &hv);
		e->ohv = hv;
		if (!e->ohashed)
			continue;
		/* e2fsck checks each bound on its own (inclusive of the next
		 * entry's hash): the new hash keeps each the old one kept */
		if (hv >= l->lo && hv <= l->hi && l->lo < l->hi)
			e->leaf = j;
		else if (hv >= l->lo)
			e->lo = l->lo;
		else if (hv <= l->hi)
			e->hi = l->hi + 1;
	}
	return 1;
}
static int one_dir(struct hdir *h)
{
	const struct ext2_dx_root_info *ri;
	uint64_t root;
	size_t i;

	if (!read_lblk(h, 0, &root))
		return 0;
	ri = (const void *)(h->buf + 24);
	/* e2fsck -n reads on past a root with reserved bits set or a longer
	 * info; one it cannot read is left to anon_dir.c's shapes */
	if (ri->info_length < 8 || 24u + ri->info_length + 8 > h->a->blocksize)
		return 0;
	h->version = ri->hash_version;
	if (h->version <= EXT2_HASH_TEA &&
	    (h->a->fs->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH))
		h->version += 3;
	/* siphash: encrypted and casefolded, names left as they are */
	if (h->version == EXT2_HASH_SIPHASH)
		return 0;
	h->flags = anon_casefold(h->a, h->d->flags) ? EXT4_CASEFOLD_FL : 0;
	if (!anon_grow((void **)&h->nodes, &h->capnodes, h->nnodes, sizeof(*h->nodes)))
		return 0;
	h->nodes[h->nnodes++] = root;
	/* the depth the root says is not believed: the blocks' shapes
	 * decide, as for e2fsck */
	if (!walk_node(h, 24 + ri->info_length, 0, 0, 1ull << 32) ||
	    !unreached_nodes(h) || !once_each(h))
		return 0;
	for (i = 0; i < h->nleaves; i++)
		if (!collect(h, (uint32_t)i))
			return 0;
	if (!anon_hnames(h))
		return 0;
	h->d->htree = 1;
	return 1;
}

static int runs_by_ino(const void *x, const void *y)
{
	const struct anon_blk *a = *(const struct anon_blk *const *)x;
	const struct anon_blk *b = *(const struct anon_blk *const *)y;

	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return a->lblk < b->lblk ? -1 : a->lblk > b->lblk;
}

static int by_pblk(const void *x, const void *y)
{
	const struct anon_leaf *a = x, *b = y;

	return a->pblk < b->pblk ? -1 : a->pblk > b->pblk;
}

errcode_t anon_htree(struct anonymizer *a)
{
	const struct anon_blk **runs;
	struct hdir h;
	size_t i, k, n = 0, r = 0;

	runs = malloc((a->nblks ? a->nblks : 1) * sizeof(*runs));
	memset(&h, 0, sizeof(h));
	h.a = a;
	h.buf = malloc(a->blocksize);
	if (!runs || !h.buf) {
		free(runs);
		free(h.buf);
		return EXT2_ET_NO_MEMORY;
	}
	for (i = 0; i < a->nblks; i++)
		if (a->blks[i].cls == BC_DIRECTORY)
			runs[n++] = &a->blks[i];
	if (n)
		qsort(runs, n, sizeof(*runs), runs_by_ino);
	for (i = 0; i < a->ndirs; i++) {
		struct anon_dir *d = &a->dirs[i];
		size_t first, nl = a->nleaves, nn = a->names_len;

		while (r < n && runs[r]->ino < d->ino)
			r++;
		for (first = r; r < n && runs[r]->ino == d->ino; r++)
			;
		if (!(d->flags & EXT2_INDEX_FL) || anon_encrypted(a, d->flags))
			continue;
		h.d = d;
		h.runs = runs + first;
		h.nruns = r - first;
		for (h.nblocks = 0, k = first; k < r; k++)
			h.nblocks += runs[k]->n;
		h.nleaves = h.nents = h.olds_len = h.nnodes = h.ntaken = 0;
		if (!one_dir(&h)) {
			/* the tree cannot be read: its blocks are named as any
			 * directory's (e2fsck reports the tree on the source too) */
			a->nleaves = nl;
			a->names_len = nn;
		}
	}
	if (a->nleaves)
		qsort(a->leaves, a->nleaves, sizeof(*a->leaves), by_pblk);
	free(runs);
	free(h.buf);
	free(h.leaves);
	free(h.ents);
	free(h.olds);
	free(h.nodes);
	anon_hnames_free(&h);
	return 0;
}
