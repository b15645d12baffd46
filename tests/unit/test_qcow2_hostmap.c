/* Unit tests of the qcow2 reader's host-cluster map: values, bounds, and
 * memory that follows the clusters marked, not the size of the map. */
#include <stdint.h>
#include "hostmap.h"
#include "tap.h"

static struct tap t;

static void test_values(void)
{
	struct hostmap *m = hostmap_new(100000);
	int ok = 1;
	uint64_t i;

	TAP_CHECK(&t, m && hostmap_get(m, 0) == 0 && hostmap_get(m, 99999) == 0 &&
		  hostmap_bytes(m) == 0, "values: a new map is all 0 and holds no page");
	TAP_CHECK(&t, hostmap_claim(m, 5, 2) == 0 && hostmap_get(m, 5) == 2,
		  "values: a claim sets the value and returns 0");
	TAP_CHECK(&t, hostmap_claim(m, 5, 3) == 2 && hostmap_get(m, 5) == 2,
		  "values: a second claim returns the first value and keeps it");
	TAP_CHECK(&t, hostmap_get(m, 4) == 0 && hostmap_get(m, 6) == 0,
		  "values: the neighbours are untouched");
	/* Every value in every position of a byte, across a leaf boundary. */
	for (i = 16380; i < 16392; i++)
		ok &= hostmap_claim(m, i, 1 + i % 3) == 0;
	for (i = 16380; i < 16392; i++)
		ok &= hostmap_get(m, i) == 1 + i % 3;
	TAP_CHECK(&t, ok && hostmap_get(m, 16379) == 0 && hostmap_get(m, 16392) == 0,
		  "values: packed 2-bit values across the end of a page");
	TAP_CHECK(&t, hostmap_claim(m, 100000, 1) == -1 && hostmap_get(m, 100000) == 0 &&
		  hostmap_claim(m, UINT64_MAX, 1) == -1,
		  "values: claims past the end are refused");
	hostmap_clear(m);
	TAP_CHECK(&t, hostmap_bytes(m) == 0 && hostmap_get(m, 5) == 0 &&
		  hostmap_claim(m, 5, 1) == 0, "values: clear empties the map");
	hostmap_free(m);
}

static void test_sparse(void)
{
	uint64_t n = 1ull << 47;        /* 2^56 bytes of 512-byte clusters */
	struct hostmap *m = hostmap_new(n);
	int ok = 1;
	unsigned k;

	TAP_CHECK(&t, m && hostmap_bytes(m) == 0, "sparse: a map of 2^47 clusters costs nothing");
	for (k = 0; k < 8; k++)
		ok &= hostmap_claim(m, n / 8 * k + k, 3) == 0;
	ok &= hostmap_claim(m, n - 1, 3) == 0;
	/* 9 paths of at most 4 directories and one leaf, 4 KiB each. */
	TAP_CHECK(&t, ok && hostmap_bytes(m) <= 9 * 5 * 4096,
		  "sparse: 9 clusters spread over 2^47 cost a few pages");
	for (k = 0; k < 8; k++)
		ok &= hostmap_get(m, n / 8 * k + k) == 3 &&
		      hostmap_get(m, n / 8 * k + k + 1) == 0;
	TAP_CHECK(&t, ok && hostmap_get(m, n - 1) == 3,
		  "sparse: the far clusters read back");
	hostmap_free(m);

	m = hostmap_new(1);
	TAP_CHECK(&t, m && hostmap_claim(m, 0, 1) == 0 && hostmap_claim(m, 1, 1) == -1 &&
		  hostmap_bytes(m) == 4096, "sparse: a map of one cluster is one page");
	hostmap_free(m);
	m = hostmap_new(0);
	TAP_CHECK(&t, m && hostmap_claim(m, 0, 1) == -1 && hostmap_get(m, 0) == 0,
		  "sparse: a map of no cluster refuses every claim");
	hostmap_free(m);
	hostmap_free(NULL);
}

int main(void)
{
	test_values();
	test_sparse();
	return tap_done(&t);
}
