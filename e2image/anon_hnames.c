/*
 * New names for a hash-indexed directory's entries (anon_htree.c read
 * them). A leaf holds the names whose hashes fall in the range its index
 * entry gives (from its hash up to the next entry's): a new name must hash
 * into the same range, or the tree is wrong (e2fsck: "problem in HTREE
 * directory"). One stream of candidate names per length serves every leaf
 * at once: each candidate is hashed once and given to a leaf whose range
 * holds it and that still needs a name of that length. The last names of
 * a length wait for a candidate in their own narrow range, about as many
 * candidates as there are leaves each: a few hashes per name in all
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
#include "anon_htree.h"

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
		for (lo = h->tab[hv >> h->shift]; lo < hi && h->los[lo] <= hv; lo++)
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

/* Gives a candidate to the first entry of leaf slot s whose old name it is
 * not (names of other hashes differ: neither the entry nor its old name
 * is read for them), which leaves the slot; 1 if it went. */
static int give(struct hdir *h, struct hslot *s, uint64_t k, const char *name,
		unsigned len, int hashed, uint32_t hv)
{
	struct hcons x;
	uint32_t t;

	for (t = s->pos; t < s->end; t++) {
		const struct hcons *c = &h->cons[t];

		if ((!hashed || !(c->key & 1) || (c->key & ~1u) == hv) &&
		    !memcmp(h->olds + h->ents[c->ent].old, name, len))
			continue;
		h->ents[c->ent].k = k;
		x = h->cons[t];
		h->cons[t] = h->cons[s->pos];
		h->cons[s->pos++] = x;
		return 1;
	}
	return 0;
}

/* The same for the entries bound to no leaf, free[*pos..end): the first
 * whose old name it is not and whose bounds hold its hash. */
static int give_free(struct hdir *h, uint32_t *pos, uint32_t end, uint64_t k,
		     const char *name, unsigned len, int hashed, uint32_t hv)
{
	uint32_t t, x;

	for (t = *pos; t < end; t++) {
		struct hent *e = &h->ents[h->free[t]];

		if (!memcmp(h->olds + e->old, name, len))
			continue;
		if ((e->lo || e->hi != 1ull << 32) && (!hashed || hv < e->lo || hv >= e->hi))
			continue;
		e->k = k;
		x = h->free[t];
		h->free[t] = h->free[*pos];
		h->free[(*pos)++] = x;
		return 1;
	}
	return 0;
}

/* Candidates' hashes held at most (4 bytes each, 16 MiB): a few per name
 * of the largest directory; past them, hashes are computed and not kept. */
#define CACHE_MAX ((size_t)1 << 22)

/* The hash of candidate k of len bytes (name), from the cache when a
 * directory before asked for it. */
static int cand_hash(struct hdir *h, unsigned len, uint64_t k, const char *name,
		     uint32_t *hv)
{
	struct hcache *c = &h->cache;
	uint32_t v;
	int hashed;

	if (k < c->n[len]) {
		v = c->hv[len][k];
		*hv = v & 1 ? v & ~1u : 0;
		return v & 1;
	}
	hashed = anon_hash_of(h, name, len, hv);
	v = hashed ? *hv | 1 : 2;
	if (k == c->n[len] && c->total < CACHE_MAX &&
	    (c->n[len] < c->cap[len] ||
	     anon_grow((void **)&c->hv[len], &c->cap[len], c->n[len], sizeof(v)))) {
		c->hv[len][c->n[len]++] = v;
		c->total++;
	}
	return hashed;
}

/* Names for the n entries of one length listed at idx (in entry order,
 * so a leaf's are together), the leaf each needs at leafs, their keys at
 * keys. */
static void name_length(struct hdir *h, unsigned len, const uint32_t *idx,
			const uint32_t *leafs, const uint32_t *keys, uint32_t n)
{
	uint32_t *next = &h->d->next[len <= 4 ? len : 0];
	uint32_t i, j, ncons = 0, nfree = 0, pfree = 0, last = NO_LEAF;
	uint64_t k, tries, pending = n, constrained, nice;
	int cf = anon_casefold(h->a, h->d->flags), more;
	char name[256];

	for (i = 0; i < n; i++) {
		if (leafs[i] == NO_LEAF) {
			h->free[nfree++] = idx[i];
			continue;
		}
		if (leafs[i] != last)
			h->slots[leafs[i]].pos = ncons;
		last = leafs[i];
		h->cons[ncons++] = (struct hcons){ idx[i], keys[i] };
		h->slots[last].end = ncons;
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
		int hashed = cand_hash(h, len, k, name, &hv);

		if (hashed && is_old_name(h, name, len, hv))
			continue;
		if (constrained && hashed && (j = leaf_for(h, hv)) != NO_LEAF &&
		    h->slots[j].pos < h->slots[j].end &&
		    give(h, &h->slots[j], k, name, len, hashed, hv)) {
			constrained--;
			pending--;
		} else if (pfree < nfree &&
			   give_free(h, &pfree, nfree, k, name, len, hashed, hv)) {
			pending--;
		} else {
			continue;
		}
		if (k + 1 > *next)
			*next = k + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(k + 1);
	}
	/* the slots are empty again for the next length */
	for (i = 0; i < n; i++)
		if (leafs[i] != NO_LEAF)
			h->slots[leafs[i]] = (struct hslot){ 0, 0 };
}

/* Every length's entries, one length at a time. */
static void name_all(struct hdir *h)
{
	unsigned len;

	for (len = 1; len < 256; len++)
		if (h->lstart[len + 1] > h->lstart[len])
			name_length(h, len, h->order + h->lstart[len],
				    h->oleaf + h->lstart[len], h->okey + h->lstart[len],
				    h->lstart[len + 1] - h->lstart[len]);
}

/* The tables name_all works from: the entries ordered by length (in entry
 * order within one) with their leaves and keys beside them, room for a
 * length's lists, an empty slot per leaf, and leaf_for's table when the
 * leaves are sorted. 0: no memory. */
static int index_dir(struct hdir *h)
{
	size_t n = h->nents, nl = h->nleaves, i, b, nb;
	unsigned bits = 0, len;

	if (!anon_grow((void **)&h->order, &h->caporder, n, sizeof(*h->order)) ||
	    !anon_grow((void **)&h->oleaf, &h->capoleaf, n, sizeof(*h->oleaf)) ||
	    !anon_grow((void **)&h->okey, &h->capokey, n, sizeof(*h->okey)) ||
	    !anon_grow((void **)&h->cons, &h->capcons, n, sizeof(*h->cons)) ||
	    !anon_grow((void **)&h->free, &h->capfree, n, sizeof(*h->free)) ||
	    !anon_grow((void **)&h->slots, &h->capslots, nl, sizeof(*h->slots)))
		return 0;
	memset(h->lstart, 0, sizeof(h->lstart));
	for (i = 0; i < n; i++)
		h->lstart[h->ents[i].len + 1]++;
	for (len = 1; len < 257; len++)
		h->lstart[len] += h->lstart[len - 1];
	for (i = 0; i < n; i++) {
		const struct hent *e = &h->ents[i];
		uint32_t at = h->lstart[e->len]++;

		h->oleaf[at] = e->leaf;
		h->okey[at] = e->ohashed ? e->ohv | 1 : 0;
		h->order[at] = (uint32_t)i;
	}
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
	if (!anon_grow((void **)&h->tabmem, &h->captab, nb, sizeof(*h->tabmem)) ||
	    !anon_grow((void **)&h->los, &h->caplos, nl, sizeof(*h->los)))
		return 0;
	for (i = 0; i < nl; i++)
		h->los[i] = h->leaves[i].lo;
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

/* The cache holds this directory's names and hashes: another
 * alphabet or hash version empties it. */
static void cache_for(struct hdir *h)
{
	struct hcache *c = &h->cache;
	unsigned len;

	if (c->version == h->version && c->flags == h->flags)
		return;
	for (len = 0; len < 256; len++)
		c->n[len] = 0;
	c->total = 0;
	c->version = h->version;
	c->flags = h->flags;
}

int anon_hnames(struct hdir *h)
{
	cache_for(h);
	return index_dir(h) && choose(h) && store(h);
}

void anon_hnames_free(struct hdir *h)
{
	unsigned len;

	free(h->taken);
	free(h->order);
	free(h->oleaf);
	free(h->okey);
	free(h->los);
	free(h->cons);
	free(h->free);
	free(h->slots);
	free(h->tabmem);
	for (len = 0; len < 256; len++)
		free(h->cache.hv[len]);
}
