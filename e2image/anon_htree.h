/*
 * The state anon_htree.c (reading a hash tree, the old names) and
 * anon_hnames.c (choosing the new ones) share, one directory at a time.
 */
#ifndef E2I_ANON_HTREE_H
#define E2I_ANON_HTREE_H

#include "anon.h"

#define NO_LEAF UINT32_MAX

/* A leaf, and the range of hashes its index entries give it. */
struct hleaf {
	uint64_t pblk;
	uint32_t lo;
	uint64_t hi;      /* exclusive */
};

/* A live entry to rename. Bound to no leaf (NO_LEAF): the bounds its old
 * hash kept of a damaged range (from lo up to hi, exclusive), or the whole
 * space. */
struct hent {
	uint64_t hi;
	uint32_t lo;
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

/* An entry bound to a leaf, with what tells a candidate from its old name
 * without reading either (key: its old name's hash | 1, 0: none). */
struct hcons {
	uint32_t ent, key;
};

/* The hash of a name that stays (as anon_hash_of gives it, folded in a
 * casefolded directory), and its entry. */
struct htaken {
	uint32_t hv;
	uint32_t ent;
};

/* The hashes of candidate names, kept from one directory to the next:
 * the k-th name of a length is the same in every directory of one
 * alphabet (casefolded or not), and so is its hash under one hash version
 * (the seed is the filesystem's). Per length, for k from 0 on: hv | 1,
 * or 2 when it has no hash. */
struct hcache {
	int version, flags;             /* whose names and hashes they are */
	uint32_t *hv[256];
	size_t n[256], cap[256];
	size_t total;                   /* held in all, up to a bound */
};

/* One directory's tree, old names and what choosing needs (the arrays
 * keep their room from one directory to the next). */
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
	/* for choosing: the entries by length (from lstart[len]), the leaf
	 * each needs (oleaf) and its key (okey, as in struct hcons), and per
	 * length those bound to a leaf (cons, leaf j's from its slot's pos to
	 * end) and the others (free) */
	uint32_t *order, *oleaf, *okey, *free;
	struct hcons *cons;
	size_t caporder, capoleaf, capokey, capcons, capfree;
	uint32_t lstart[257];
	struct hslot *slots;
	size_t capslots;
	/* leaves sorted by lo: for each of 1 << (32 - shift) hash ranges,
	 * the first leaf starting past the range's start (leaf_for); NULL:
	 * not sorted, or too few to need it */
	const uint32_t *tab;
	uint32_t *tabmem, *los;         /* los: each leaf's lo, for leaf_for */
	size_t captab, caplos;
	unsigned shift;
	struct hcache cache;
};

/* hv: the hash of a name as e2fsck checks it (folded in a casefolded
 * directory), its lowest bit clear; 0 when it cannot be computed. */
int anon_hash_of(const struct hdir *h, const char *name, unsigned len,
		 uint32_t *hv);
/* New names for the entries collected, chosen and put in the
 * anonymizer's table (anon_hnames.c); 0: no memory. */
int anon_hnames(struct hdir *h);
/* Frees what choosing kept (the arrays anon_hnames.c grows, the cache). */
void anon_hnames_free(struct hdir *h);

#endif
