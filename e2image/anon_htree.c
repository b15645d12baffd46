/*
 * New names for hash-indexed directories, chosen before the copy. A leaf
 * holds the names whose hashes fall in the range its index entry gives
 * (from its hash up to the next entry's): a new name must hash into the
 * same range, or the tree is wrong (e2fsck: "problem in HTREE directory").
 * One stream of candidate names per directory and length serves every
 * leaf at once: each candidate is hashed once and given to a leaf whose
 * range holds it and that still needs a name of that length, so the work
 * is about one hash per name plus the tail of the last, narrowest ranges
 * (bounded; a name that finds no candidate is kept, and reported).
 * Names whose hash was already outside their leaf's range (a damaged tree)
 * take any candidate. A name kept for want of a candidate stays, and no
 * new name may meet it (equal, or equal after case folding in a casefolded
 * directory, where a name of another length can fold to it): when a round
 * keeps names, the names are chosen again with those given to nobody,
 * until a round keeps no new one (or, after a few, with every old name
 * given to nobody).
 * The chosen names are kept, per leaf, in entry order, for anon_dir.c to
 * put in when the leaf goes by.
 */
#include <stdlib.h>
#include <string.h>
#include "anon.h"

#define MAX_WALK 16  /* nodes deep, whatever the root says */
#define NO_LEAF UINT32_MAX

struct hleaf {
	uint64_t pblk;
	uint32_t lo;
	uint64_t hi;      /* exclusive */
};

struct hent {
	uint64_t hi;      /* NO_LEAF: the bounds its old hash kept, of a */
	uint32_t lo;      /* damaged range (exclusive), or the whole space */
	uint32_t leaf;    /* whose range it needs; NO_LEAF: lo..hi will do */
	uint32_t home;    /* the leaf it is in */
	uint32_t ohv;     /* its old name's hash, when ohashed */
	uint64_t k;       /* the candidate given, UINT64_MAX: none */
	size_t old;       /* offset of the old name in olds */
	uint16_t len;
	uint8_t ohashed;
	uint8_t stays;    /* kept in a round before: its name is no candidate */
};

/* Leaf j's entries of the current length still to name, in cons. */
struct hslot {
	uint32_t pos, end;
};

/* The hash of a name that stays (as hash_of gives it, folded in a
 * casefolded directory), and its entry. */
struct htaken {
	uint32_t hv;
	uint32_t ent;
};

struct hdir {
	struct anonymizer *a;
	struct anon_dir *d;
	const struct anon_blk **runs;   /* this directory's, by lblk */
	size_t nruns;
	uint64_t nblocks;               /* in those runs */
	int version, flags;
	unsigned char *buf;
	struct hleaf *leaves;
	size_t nleaves, capleaves;
	struct hent *ents;
	size_t nents, capents;
	char *olds;
	size_t olds_len, olds_cap;
	uint64_t *nodes;
	size_t nnodes, capnodes;
	struct htaken *taken;           /* every entry's, sorted by hv */
	size_t ntaken, captaken;
	/* for choosing: the entries by length (from lstart[len]), and per
	 * length those bound to a leaf (cons, leaf j's from its slot's pos
	 * to end) and the others (free) */
	uint32_t *order, *cons, *free;
	size_t caporder, capcons, capfree;
	uint32_t lstart[257];
	struct hslot *slots;
	size_t capslots;
	/* leaves sorted by lo: for each of 1 << (32 - shift) hash ranges,
	 * the first leaf starting past the range's start (leaf_for); NULL:
	 * not sorted, or too few to need it */
	const uint32_t *tab;
	uint32_t *tabmem;
	size_t captab;
	unsigned shift;
};

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

static int hash_of(const struct hdir *h, const char *name, unsigned len,
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
		e->ohashed = (uint8_t)hash_of(h, name, len, &hv);
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

static int by_hv(const void *x, const void *y)
{
	const struct htaken *a = x, *b = y;

	return a->hv < b->hv ? -1 : a->hv > b->hv;
}

/* True when name (its hash hv) is one that stays, folded in a casefolded
 * directory. */
static int is_old_name(const struct hdir *h, const char *name, unsigned len,
		       uint32_t hv)
{
	size_t lo = 0, hi = h->ntaken;
	int cf = h->flags & EXT4_CASEFOLD_FL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->taken[mid].hv < hv)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < h->ntaken && h->taken[lo].hv == hv; lo++) {
		const struct hent *e = &h->ents[h->taken[lo].ent];
		const char *old = h->olds + e->old;

		if (cf ? !ext2fs_casefold_cmp(h->a->fs->encoding, (const unsigned char *)old,
					       e->len, (const unsigned char *)name, len)
		       : e->len == len && !memcmp(old, name, len))
			return 1;
	}
	return 0;
}

/* The leaf whose range holds hv: the last whose range starts at or
 * before it (found from the table when the leaves are sorted). */
static uint32_t leaf_for(const struct hdir *h, uint32_t hv)
{
	size_t lo = 0, hi = h->nleaves;

	if (h->tab) {
		for (lo = h->tab[hv >> h->shift]; lo < hi && h->leaves[lo].lo <= hv; lo++)
			;
	} else {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (h->leaves[mid].lo <= hv)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	if (!lo || hv >= h->leaves[lo - 1].hi)
		return NO_LEAF;
	return (uint32_t)(lo - 1);
}

/* Gives a candidate to the first entry of list[*pos..end) whose old name it
 * is not (and, for one bound to no leaf, whose bounds hold its hash),
 * which leaves the list; 1 if it went. */
static int give(struct hdir *h, uint32_t *list, uint32_t *pos, uint32_t end,
		uint64_t k, const char *name, unsigned len, int hashed, uint32_t hv)
{
	uint32_t t, x;

	for (t = *pos; t < end; t++) {
		struct hent *e = &h->ents[list[t]];

		/* (names of other hashes differ: the old one is not read) */
		if ((!hashed || !e->ohashed || e->ohv == hv) &&
		    !memcmp(h->olds + e->old, name, len))
			continue;
		if (e->leaf == NO_LEAF && (e->lo || e->hi != 1ull << 32) &&
		    (!hashed || hv < e->lo || hv >= e->hi))
			continue;
		e->k = k;
		x = list[t];
		list[t] = list[*pos];
		list[*pos] = x;
		(*pos)++;
		return 1;
	}
	return 0;
}

/* Names for the n entries of one length listed at idx (in entry order,
 * so a leaf's are together). */
static void name_length(struct hdir *h, unsigned len, const uint32_t *idx,
			uint32_t n)
{
	uint32_t *next = &h->d->next[len <= 4 ? len : 0];
	uint32_t i, j, ncons = 0, nfree = 0, pfree = 0;
	uint64_t k, tries, pending = n, constrained, nice;
	int cf = anon_casefold(h->a, h->d->flags), more;
	char name[256];

	for (i = 0; i < n; i++) {
		uint32_t leaf = h->ents[idx[i]].leaf;

		if (leaf == NO_LEAF) {
			h->free[nfree++] = idx[i];
			continue;
		}
		if (!ncons || h->ents[h->cons[ncons - 1]].leaf != leaf)
			h->slots[leaf].pos = ncons;
		h->cons[ncons++] = idx[i];
		h->slots[leaf].end = ncons;
	}
	constrained = ncons;
	/* the narrowest leaf needs about as many candidates as there are
	 * leaves; past that budget a name is kept, and reported */
	tries = 64 * pending + 16 * (uint64_t)h->nleaves + 1024;
	more = anon_name_k(0, len, cf, 0, name);
	nice = anon_nice_names(len, cf);
	for (k = 0; pending && tries-- && more; k++,
	     more = k < nice ? anon_name_inc(name, len, cf) : anon_name_k(k, len, cf, 0, name)) {
		uint32_t hv = 0;
		int hashed = hash_of(h, name, len, &hv);

		if (hashed && is_old_name(h, name, len, hv))
			continue;
		if (constrained && hashed && (j = leaf_for(h, hv)) != NO_LEAF &&
		    h->slots[j].pos < h->slots[j].end &&
		    give(h, h->cons, &h->slots[j].pos, h->slots[j].end, k, name, len,
			 hashed, hv)) {
			constrained--;
			pending--;
		} else if (pfree < nfree &&
			   give(h, h->free, &pfree, nfree, k, name, len, hashed, hv)) {
			pending--;
		} else {
			continue;
		}
		if (k + 1 > *next)
			*next = k + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(k + 1);
	}
	/* the slots are empty again for the next length */
	for (i = 0; i < ncons; i++)
		h->slots[h->ents[h->cons[i]].leaf] = (struct hslot){ 0, 0 };
}

/* Every length's entries, one length at a time. */
static void name_all(struct hdir *h)
{
	unsigned len;

	for (len = 1; len < 256; len++)
		if (h->lstart[len + 1] > h->lstart[len])
			name_length(h, len, h->order + h->lstart[len],
				    h->lstart[len + 1] - h->lstart[len]);
}

/* The tables name_all works from: the entries ordered by length (in entry
 * order within one), room for a length's lists, an empty slot per leaf,
 * and leaf_for's table when the leaves are sorted. 0: no memory. */
static int index_dir(struct hdir *h)
{
	size_t n = h->nents, nl = h->nleaves, i, b, nb;
	unsigned bits = 0, len;

	if (!anon_grow((void **)&h->order, &h->caporder, n, sizeof(*h->order)) ||
	    !anon_grow((void **)&h->cons, &h->capcons, n, sizeof(*h->cons)) ||
	    !anon_grow((void **)&h->free, &h->capfree, n, sizeof(*h->free)) ||
	    !anon_grow((void **)&h->slots, &h->capslots, nl, sizeof(*h->slots)))
		return 0;
	memset(h->lstart, 0, sizeof(h->lstart));
	for (i = 0; i < n; i++)
		h->lstart[h->ents[i].len + 1]++;
	for (len = 1; len < 257; len++)
		h->lstart[len] += h->lstart[len - 1];
	for (i = 0; i < n; i++)
		h->order[h->lstart[h->ents[i].len]++] = (uint32_t)i;
	/* (each start moved to the next one's: back by one length) */
	memmove(h->lstart + 1, h->lstart, 256 * sizeof(*h->lstart));
	h->lstart[0] = 0;
	memset(h->slots, 0, nl * sizeof(*h->slots));
	h->tab = NULL;
	for (i = 1; i < nl; i++)
		if (h->leaves[i - 1].lo > h->leaves[i].lo)
			return 1;
	/* about four ranges per leaf, up to 1 << 16 */
	while (bits < 16 && ((size_t)1 << bits) < 4 * nl)
		bits++;
	if (nl < 8)
		return 1;
	nb = (size_t)1 << bits;
	if (!anon_grow((void **)&h->tabmem, &h->captab, nb, sizeof(*h->tabmem)))
		return 0;
	h->shift = 32 - bits;
	for (b = i = 0; b < nb; b++) {
		while (i < nl && h->leaves[i].lo <= (uint64_t)b << h->shift)
			i++;
		h->tabmem[b] = (uint32_t)i;
	}
	h->tab = h->tabmem;
	return 1;
}

/* The new names, per leaf in entry order, into the anonymizer's table. */
static int store(struct hdir *h)
{
	struct anonymizer *a = h->a;
	int cf = anon_casefold(a, h->d->flags);
	size_t i, e = 0;

	for (i = 0; i < h->nnodes; i++) {
		if (!anon_grow((void **)&a->leaves, &a->capleaves, a->nleaves, sizeof(*a->leaves)))
			return 0;
		a->leaves[a->nleaves++] = (struct anon_leaf){ h->nodes[i], ANON_NODE, 0 };
	}
	for (i = 0; i < h->nleaves; i++) {
		struct anon_leaf *l;

		if (!anon_grow((void **)&a->leaves, &a->capleaves, a->nleaves, sizeof(*a->leaves)))
			return 0;
		l = &a->leaves[a->nleaves++];
		l->pblk = h->leaves[i].pblk;
		l->off = a->names_len;
		for (; e < h->nents && h->ents[e].home == i; e++) {
			struct hent *x = &h->ents[e];

			if (!anon_grow((void **)&a->names, &a->names_cap, a->names_len + x->len, 1))
				return 0;
			if (x->k == UINT64_MAX ||
			    !anon_name_k(x->k, x->len, cf, 0, a->names + a->names_len))
				memcpy(a->names + a->names_len, h->olds + x->old, x->len);
			a->names_len += x->len;
		}
		l->len = a->names_len - l->off;
	}
	return 1;
}

#define ROUNDS 8

/* The names that stay (every old one when all), into taken; how many
 * were added, -1: no memory. */
static long forbid(struct hdir *h, int all)
{
	long added = 0;
	size_t i;

	for (i = 0; i < h->nents; i++) {
		struct hent *e = &h->ents[i];
		uint32_t hv;

		if (e->stays || (!all && e->k != UINT64_MAX))
			continue;
		e->stays = 1;
		if (!e->ohashed)
			continue;
		hv = e->ohv;
		if (!anon_grow((void **)&h->taken, &h->captaken, h->ntaken, sizeof(*h->taken)))
			return -1;
		h->taken[h->ntaken++] = (struct htaken){ hv, (uint32_t)i };
		added++;
	}
	if (added)
		qsort(h->taken, h->ntaken, sizeof(*h->taken), by_hv);
	return added;
}

/* Rounds of name_all until no new name is kept (see the top). */
static int choose(struct hdir *h)
{
	uint32_t next[5];
	long added;
	size_t i;
	int round;

	memcpy(next, h->d->next, sizeof(next));
	for (round = 0;; round++) {
		name_all(h);
		added = forbid(h, 0);
		if (added < 0)
			return 0;
		if (!added)
			return 1;
		if (round + 1 == ROUNDS && forbid(h, 1) < 0)
			return 0;
		memcpy(h->d->next, next, sizeof(next));
		for (i = 0; i < h->nents; i++)
			h->ents[i].k = UINT64_MAX;
	}
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
	if (!index_dir(h) || !choose(h))
		return 0;
	if (!store(h))
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
	free(h.taken);
	free(h.order);
	free(h.cons);
	free(h.free);
	free(h.slots);
	free(h.tabmem);
	return 0;
}
