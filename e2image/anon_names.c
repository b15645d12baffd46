/*
 * New names for directory entries. A name keeps its length and gets
 * letters, digits, '_' and '-' (no '.', '/', '+': never ".", "..",
 * "lost+found" or a path); in a casefolded directory lower case only, so
 * no two names fold to one. Names are unique within their directory: the
 * k-th name of a length is k written in the alphabet's base, each k used
 * once per directory and length (counters per length up to 4 letters,
 * one shared by longer names, whose lengths keep them apart).
 */
#include <stdint.h>
#include <string.h>
#include "anon.h"

static const char alpha[] =
	"abcdefghijklmnopqrstuvwxyz0123456789_-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
#define ALPHA_ALL 64
#define ALPHA_FOLD 38  /* the lower-case part */

/* The other bytes a name may hold, for directories with more names of a
 * length than the nice alphabet gives: any byte but NUL, '/' and '.'
 * (lower-case letters and the rest of the nice ones excluded); in a
 * casefolded directory no letters (they fold) and ASCII only, but for
 * one-byte names: a lone byte from 0x80 is no UTF-8 and folds to
 * nothing, and without them the 99 one-byte names run out before the
 * 227 such a directory can hold (the last ones kept, one folding to a
 * name given to another). */
static unsigned big_set(int casefold, unsigned len, char *out)
{
	unsigned c, n = 0;

	for (c = 1; c < (casefold && len > 1 ? 0x80u : 0x100u); c++) {
		if (c == '/' || c == '.' || memchr(alpha, (int)c, ALPHA_ALL) ||
		    (casefold && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))))
			continue;
		out[n++] = (char)c;
	}
	return n;
}

/* a^b, or UINT64_MAX past it */
static uint64_t power(uint64_t a, unsigned b)
{
	uint64_t r = 1;

	while (b--) {
		if (r > UINT64_MAX / a)
			return UINT64_MAX;
		r *= a;
	}
	return r;
}

/*
 * Past the nice names: the k-th name of len bytes holding at least one
 * other byte, so it is none of the nice ones. Counted by the position i
 * of its first other byte: nice bytes before it, any after it.
 */
static int other_name(uint64_t k, unsigned len, int casefold, char *out)
{
	char big[256], all[256 + ALPHA_ALL];
	unsigned nb = big_set(casefold, len, big), nn = casefold ? ALPHA_FOLD : ALPHA_ALL;
	unsigned nt = nn + nb, i, j;

	memcpy(all, alpha, nn);
	memcpy(all + nn, big, nb);
	for (i = 0; i < len; i++) {
		uint64_t low = power(nn, i), high = power(nt, len - 1 - i), count;

		count = low == UINT64_MAX || high == UINT64_MAX ||
				low > UINT64_MAX / nb / high ? UINT64_MAX : low * nb * high;
		if (k >= count) {
			k -= count;
			continue;
		}
		for (j = 0; j < i; j++, k /= nn)
			out[j] = alpha[k % nn];
		out[i] = big[k % nb];
		k /= nb;
		for (j = i + 1; j < len; j++, k /= nt)
			out[j] = all[k % nt];
		return 1;
	}
	return 0;
}

uint64_t anon_nice_names(unsigned len, int casefold)
{
	return power(casefold ? ALPHA_FOLD : ALPHA_ALL, len);
}

int anon_name_k(uint64_t k, unsigned len, int casefold, int big_endian,
		char *out)
{
	unsigned base = casefold ? ALPHA_FOLD : ALPHA_ALL, i;
	uint64_t nice;
	/* letters only, in memcmp's order: for xattr names, so that a
	 * sorted block stays sorted */
	const char *set = alpha;

	if (big_endian) {
		base = 26;
	} else if (base == ALPHA_ALL ? len < 11 && k >> (6 * len) : k >= power(base, len)) {
		/* (64^len, a shift: past 10 letters more than any k) */
		nice = power(base, len);
		return other_name(k - nice, len, casefold, out);
	}
	if (base == ALPHA_ALL) {
		/* the common case, one per name: shifts, not divisions, and
		 * the high digits (zeros: 'a') at once */
		for (i = 0; i < len && k; i++, k >>= 6)
			out[i] = alpha[k & 63];
		memset(out + i, alpha[0], len - i);
		return 1;
	}
	for (i = 0; i < len; i++) {
		out[big_endian ? len - 1 - i : i] = set[k % base];
		k /= base;
	}
	return k == 0;
}

int anon_name_inc(char *name, unsigned len, int casefold)
{
	unsigned base = casefold ? ALPHA_FOLD : ALPHA_ALL, i;

	/* name[0] is the lowest digit, as anon_name_k writes it */
	for (i = 0; i < len; i++) {
		const char *at = memchr(alpha, name[i], base);
		unsigned d = at ? (unsigned)(at - alpha) + 1 : base;

		if (d < base) {
			name[i] = alpha[d];
			return 1;
		}
		name[i] = alpha[0];
	}
	return 0;
}

int anon_casefold(const struct anonymizer *a, uint32_t flags)
{
	return ext2fs_has_feature_casefold(a->fs->super) &&
	       (flags & EXT4_CASEFOLD_FL);
}

int anon_keeps(const struct anon_dir *d, const unsigned char *name, unsigned len)
{
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 1;
	return d->ino == EXT2_ROOT_INO && len == 10 &&
	       !memcmp(name, "lost+found", 10);
}

/*
 * A candidate equal to the entry's own old name is held for the next
 * entry of the length instead of being passed over: every candidate of a
 * length then goes to some entry, so a name is kept only when the
 * candidates of its length ran out with its own left over, given to
 * nobody (253 one-byte names in one directory: the last one was kept
 * while another had been given its name, a duplicate in the image).
 */
int anon_next_name(struct anonymizer *a, struct anon_dir *d, const char *old,
		   unsigned len, char *out)
{
	unsigned i = len <= 4 ? len : 0;
	uint32_t *next = &d->next[i], k;
	int cf = anon_casefold(a, d->flags);

	if (i && d->held[i]) {
		k = d->held[i] - 1;
		if (anon_name_k(k, len, cf, 0, out) && memcmp(out, old, len)) {
			d->held[i] = 0;
			return 1;
		}
	}
	for (;;) {
		if (*next == UINT32_MAX || !anon_name_k(k = (*next)++, len, cf, 0, out))
			return 0;
		if (memcmp(out, old, len))
			return 1;
		if (i && !d->held[i])
			d->held[i] = k + 1;
	}
}

void anon_rename(struct anonymizer *a, struct anon_dir *d, unsigned char *name,
		 unsigned len)
{
	char fresh[256];

	if (a->cur && a->cur + len <= a->cur_end) {
		memcpy(fresh, a->cur, len);
		a->cur += len;
		if (!memcmp(fresh, name, len)) {
			a->n.names_kept_htree++;
			return;
		}
		a->n.names_htree++;
	} else if (!anon_next_name(a, d, (const char *)name, len, fresh)) {
		a->n.names_kept_short++;
		return;
	}
	anon_map(a, "name", d->ino, name, fresh, len);
	memcpy(name, fresh, len);
	a->n.names++;
}
