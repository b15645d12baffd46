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
 * take any candidate. The chosen names are kept, per leaf, in entry order,
 * for anon_dir.c to put in when the leaf goes by.
 */
#include <stdlib.h>
#include <string.h>
#include "anon.h"

#define MAX_LEVELS 3
#define NO_LEAF UINT32_MAX

struct hleaf {
	uint64_t pblk;
	uint32_t lo;
	uint64_t hi;      /* exclusive */
	uint32_t head;    /* entries of the current length still to name */
};

struct hent {
	uint32_t leaf;    /* whose range it needs; NO_LEAF: any hash will do */
	uint32_t home;    /* the leaf it is in */
	uint32_t next;
	uint16_t len;
	uint64_t k;       /* the candidate given, UINT64_MAX: none */
	size_t old;       /* offset of the old name in olds */
};

struct hdir {
	struct anonymizer *a;
	struct anon_dir *d;
	const struct anon_blk **runs;   /* this directory's, by lblk */
	size_t nruns;
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
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *q;

	if (n < *cap)
		return 1;
	q = realloc(*p, c * size);
	if (!q)
		return 0;
	*p = q;
	*cap = c;
	return 1;
}

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

/* The index entries at ent (a count/limit header first), in [lo, hi). */
static int walk_node(struct hdir *h, unsigned off, int level, uint32_t lo,
		     uint64_t hi)
{
	const struct ext2_dx_countlimit *cl = (const void *)(h->buf + off);
	const struct ext2_dx_entry *ent = (const void *)(h->buf + off);
	unsigned count = ext2fs_le16_to_cpu(cl->count), i;
	unsigned limit = ext2fs_le16_to_cpu(cl->limit);
	unsigned char *save;
	uint64_t pblk;
	int ok = 1;

	if (!count || count > limit || off + limit * 8u > h->a->blocksize)
		return 0;
	/* children are read into the buffer: this node's entries are copied */
	save = malloc(count * 8u);
	if (!save)
		return 0;
	memcpy(save, ent, count * 8u);
	ent = (const void *)save;
	for (i = 0; ok && i < count; i++) {
		uint32_t blk = ext2fs_le32_to_cpu(ent[i].block) & 0x0fffffff;
		uint32_t a = i ? ext2fs_le32_to_cpu(ent[i].hash) & ~1u : lo;
		uint64_t b = i + 1 < count ? ext2fs_le32_to_cpu(ent[i + 1].hash) & ~1u : hi;

		if (a < lo)
			a = lo;
		if (b > hi)
			b = hi;
		if (level) {
			ok = read_lblk(h, blk, &pblk) &&
			     grow((void **)&h->nodes, &h->capnodes, h->nnodes, sizeof(*h->nodes));
			if (ok) {
				h->nodes[h->nnodes++] = pblk;
				ok = walk_node(h, 8, level - 1, a, b);
			}
			continue;
		}
		pblk = pblk_of(h, blk);
		ok = pblk && grow((void **)&h->leaves, &h->capleaves, h->nleaves,
				  sizeof(*h->leaves));
		if (ok)
			h->leaves[h->nleaves++] = (struct hleaf){ pblk, a, b, NO_LEAF };
	}
	free(save);
	return ok;
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
		uint32_t hv;

		(void)ext2fs_get_rec_len(h->a->fs, de, &rec_len);
		len = ext2fs_dirent_name_len(de);
		if (rec_len < 8 || rec_len % 4 || rec_len > bs - off || len + 8 > rec_len)
			break;
		off += rec_len;
		if (!de->inode || !len || anon_keeps(h->d, (const unsigned char *)name, len))
			continue;
		if (!grow((void **)&h->ents, &h->capents, h->nents, sizeof(*h->ents)) ||
		    !grow((void **)&h->olds, &h->olds_cap, h->olds_len + len, 1))
			return 0;
		e = &h->ents[h->nents++];
		e->len = (uint16_t)len;
		e->home = j;
		e->k = UINT64_MAX;
		e->old = h->olds_len;
		memcpy(h->olds + h->olds_len, name, len);
		h->olds_len += len;
		/* e2fsck's range is inclusive of the next entry's hash */
		e->leaf = hash_of(h, name, len, &hv) && hv >= l->lo && hv <= l->hi ? j : NO_LEAF;
	}
	return 1;
}

/* The leaf whose range holds hv. */
static uint32_t leaf_for(const struct hdir *h, uint32_t hv)
{
	size_t lo = 0, hi = h->nleaves;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->leaves[mid].lo <= hv)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || hv >= h->leaves[lo - 1].hi)
		return NO_LEAF;
	return (uint32_t)(lo - 1);
}

/* Gives a candidate to the first entry of list *head whose old name it is
 * not; 1 if it went. */
static int give(struct hdir *h, uint32_t *head, uint64_t k, const char *name,
		unsigned len)
{
	uint32_t *p;

	for (p = head; *p != NO_LEAF; p = &h->ents[*p].next) {
		struct hent *e = &h->ents[*p];

		if (!memcmp(h->olds + e->old, name, len))
			continue;
		e->k = k;
		*p = e->next;
		return 1;
	}
	return 0;
}

/* Names for the entries of one length, listed from first by next. */
static void name_length(struct hdir *h, unsigned len, uint32_t first)
{
	uint32_t any = NO_LEAF, i, nx, *next = &h->d->next[len <= 4 ? len : 0];
	uint64_t k, tries, pending = 0, constrained = 0;
	int cf = anon_casefold(h->a, h->d->flags), more;
	char name[256];

	/* the list is split: leaves' lists (in entry order) and the rest */
	for (i = first; i != NO_LEAF; i = h->ents[i].next)
		if (h->ents[i].leaf != NO_LEAF)
			h->leaves[h->ents[i].leaf].head = NO_LEAF;
	for (i = first; i != NO_LEAF; i = nx) {
		struct hent *e = &h->ents[i];
		uint32_t *head = e->leaf == NO_LEAF ? &any : &h->leaves[e->leaf].head;

		nx = e->next;
		e->next = *head;  /* (reversed: any order will do) */
		*head = i;
		constrained += e->leaf != NO_LEAF;
		pending++;
	}
	/* the narrowest leaf needs about as many candidates as there are
	 * leaves; past that budget a name is kept, and reported */
	tries = 64 * pending + 16 * (uint64_t)h->nleaves + 1024;
	more = anon_name_k(0, len, cf, 0, name);
	for (k = 0; pending && tries-- && more; k++, more = anon_name_inc(name, len, cf)) {
		uint32_t hv, j;

		if (constrained && hash_of(h, name, len, &hv) &&
		    (j = leaf_for(h, hv)) != NO_LEAF &&
		    give(h, &h->leaves[j].head, k, name, len)) {
			constrained--;
			pending--;
		} else if (any != NO_LEAF && give(h, &any, k, name, len)) {
			pending--;
		} else {
			continue;
		}
		if (k + 1 > *next)
			*next = k + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(k + 1);
	}
}

/* Every length's entries, one length at a time. */
static void name_all(struct hdir *h)
{
	uint32_t first[256], last[256], i;
	unsigned len;

	for (len = 0; len < 256; len++)
		first[len] = last[len] = NO_LEAF;
	for (i = 0; i < h->nents; i++) {
		struct hent *e = &h->ents[i];

		e->next = NO_LEAF;
		if (last[e->len] == NO_LEAF)
			first[e->len] = i;
		else
			h->ents[last[e->len]].next = i;
		last[e->len] = i;
	}
	for (len = 1; len < 256; len++)
		if (first[len] != NO_LEAF)
			name_length(h, len, first[len]);
}

/* The new names, per leaf in entry order, into the anonymizer's table. */
static int store(struct hdir *h)
{
	struct anonymizer *a = h->a;
	int cf = anon_casefold(a, h->d->flags);
	size_t i, e = 0;

	for (i = 0; i < h->nnodes; i++) {
		if (!grow((void **)&a->leaves, &a->capleaves, a->nleaves, sizeof(*a->leaves)))
			return 0;
		a->leaves[a->nleaves++] = (struct anon_leaf){ h->nodes[i], ANON_NODE, 0 };
	}
	for (i = 0; i < h->nleaves; i++) {
		struct anon_leaf *l;

		if (!grow((void **)&a->leaves, &a->capleaves, a->nleaves, sizeof(*a->leaves)))
			return 0;
		l = &a->leaves[a->nleaves++];
		l->pblk = h->leaves[i].pblk;
		l->off = a->names_len;
		for (; e < h->nents && h->ents[e].home == i; e++) {
			struct hent *x = &h->ents[e];

			if (!grow((void **)&a->names, &a->names_cap, a->names_len + x->len, 1))
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

static int one_dir(struct hdir *h)
{
	const struct ext2_dx_root_info *ri;
	unsigned levels, max_levels;
	uint64_t root;
	size_t i;

	if (!read_lblk(h, 0, &root))
		return 0;
	ri = (const void *)(h->buf + 24);
	levels = ri->indirect_levels;
	max_levels = ext2fs_has_feature_largedir(h->a->fs->super) ? MAX_LEVELS : 2;
	if (ri->reserved_zero || ri->info_length != 8 || levels >= max_levels)
		return 0;
	h->version = ri->hash_version;
	if (h->version <= EXT2_HASH_TEA &&
	    (h->a->fs->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH))
		h->version += 3;
	/* siphash: encrypted and casefolded, names left as they are */
	if (h->version == EXT2_HASH_SIPHASH)
		return 0;
	h->flags = anon_casefold(h->a, h->d->flags) ? EXT4_CASEFOLD_FL : 0;
	if (!grow((void **)&h->nodes, &h->capnodes, h->nnodes, sizeof(*h->nodes)))
		return 0;
	h->nodes[h->nnodes++] = root;
	if (!walk_node(h, 24 + ri->info_length, (int)levels, 0, 1ull << 32))
		return 0;
	for (i = 0; i < h->nleaves; i++)
		if (!collect(h, (uint32_t)i))
			return 0;
	name_all(h);
	return store(h);
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
	size_t i, n = 0, r = 0;

	if (!ext2fs_has_feature_dir_index(a->fs->super))
		return 0;
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
	qsort(runs, n, sizeof(*runs), runs_by_ino);
	for (i = 0; i < a->ndirs; i++) {
		struct anon_dir *d = &a->dirs[i];
		size_t first, nl = a->nleaves, nn = a->names_len;

		while (r < n && runs[r]->ino < d->ino)
			r++;
		for (first = r; r < n && runs[r]->ino == d->ino; r++)
			;
		if (!(d->flags & EXT2_INDEX_FL) || (d->flags & EXT4_ENCRYPT_FL))
			continue;
		h.d = d;
		h.runs = runs + first;
		h.nruns = r - first;
		h.nleaves = h.nents = h.olds_len = h.nnodes = 0;
		if (!one_dir(&h)) {
			/* the tree cannot be read: its blocks are named as any
			 * directory's (e2fsck reports the tree on the source too) */
			a->nleaves = nl;
			a->names_len = nn;
		}
	}
	qsort(a->leaves, a->nleaves, sizeof(*a->leaves), by_pblk);
	free(runs);
	free(h.buf);
	free(h.leaves);
	free(h.ents);
	free(h.olds);
	free(h.nodes);
	return 0;
}
