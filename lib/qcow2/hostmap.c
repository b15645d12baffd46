/*
 * The host-cluster map: a radix tree of 4 KiB pages. A leaf holds 2 bits
 * for each of 16384 clusters; a directory holds 512 pointers. The depth is
 * what n needs (a file under 16384 clusters is one leaf), and a page exists
 * only once a cluster under it is marked: offsets reach 2^56, and a flat
 * top level sized by the file's apparent size could be gigabytes.
 */
#include <stdlib.h>
#include "hostmap.h"

#define PAGE 4096u
#define LEAF_SHIFT 14                   /* clusters per leaf: 4 per byte */
#define DIR_SHIFT 9                     /* pointers per directory */
#define DIR_MASK ((1u << DIR_SHIFT) - 1)

struct hostmap {
	uint64_t n;
	unsigned depth;         /* directory levels above the leaves */
	void *root;
	size_t bytes;
};

struct hostmap *hostmap_new(uint64_t n)
{
	struct hostmap *m = calloc(1, sizeof(*m));
	unsigned bits = LEAF_SHIFT;

	if (!m)
		return NULL;
	m->n = n;
	while (bits < 64 && (n - 1) >> bits) {
		bits += DIR_SHIFT;
		m->depth++;
	}
	return m;
}

/* The leaf that holds cluster i; created when `make` is set. */
static unsigned char *leaf(struct hostmap *m, uint64_t i, int make)
{
	void **slot = &m->root;
	unsigned level;

	for (level = m->depth;; level--) {
		if (!*slot) {
			if (!make || !(*slot = calloc(1, PAGE)))
				return NULL;
			m->bytes += PAGE;
		}
		if (!level)
			return *slot;
		slot = (void **)*slot +
		       ((i >> (LEAF_SHIFT + DIR_SHIFT * (level - 1))) & DIR_MASK);
	}
}

unsigned hostmap_get(const struct hostmap *m, uint64_t i)
{
	unsigned char *p;

	if (i >= m->n || !(p = leaf((struct hostmap *)m, i, 0)))
		return 0;
	i &= (1u << LEAF_SHIFT) - 1;
	return (p[i / 4] >> (i % 4 * 2)) & 3;
}

int hostmap_claim(struct hostmap *m, uint64_t i, unsigned v)
{
	unsigned char *p;
	unsigned old;

	if (i >= m->n || !(p = leaf(m, i, 1)))
		return -1;
	i &= (1u << LEAF_SHIFT) - 1;
	old = (p[i / 4] >> (i % 4 * 2)) & 3;
	if (!old)
		p[i / 4] |= (unsigned char)((v & 3) << (i % 4 * 2));
	return (int)old;
}

static void release(void *page, unsigned level)
{
	unsigned k;

	if (!page)
		return;
	if (level)
		for (k = 0; k <= DIR_MASK; k++)
			release(((void **)page)[k], level - 1);
	free(page);
}

void hostmap_clear(struct hostmap *m)
{
	release(m->root, m->depth);
	m->root = NULL;
	m->bytes = 0;
}

size_t hostmap_bytes(const struct hostmap *m)
{
	return m->bytes;
}

void hostmap_free(struct hostmap *m)
{
	if (!m)
		return;
	hostmap_clear(m);
	free(m);
}
