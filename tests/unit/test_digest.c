/*
 * Unit tests of the image digest: the construction the man page documents
 * (runs of non-zero blocks, each followed by its offset and length, then
 * the image's length), pieces split anywhere giving the same digest, and
 * the digest thread giving what the caller's thread gives, for pieces of
 * every size, the ring wrapping many times.
 */
#include <stdlib.h>
#include <string.h>
#include "digest.h"
#include "digest_async.h"
#include "tap.h"

#define BS 1024
#define NBLK 3000

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void be64(struct sha256_ctx *c, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	sha256_update(c, 8, b);
}

/* The construction written out plainly, block by block. */
static void model(const unsigned char *img, uint64_t nblk, uint64_t bytes,
		  unsigned char out[IMAGE_DIGEST_BYTES])
{
	struct sha256_ctx c;
	uint64_t b, start = 0;
	int in = 0;

	sha256_init(&c);
	for (b = 0; b <= nblk; b++) {
		int nz = 0, k;

		for (k = 0; b < nblk && k < BS && !nz; k++)
			nz = img[b * BS + k] != 0;
		if (nz && !in)
			start = b, in = 1;
		if (nz)
			sha256_update(&c, BS, img + b * BS);
		if (!nz && in) {
			be64(&c, start * BS);
			be64(&c, (b - start) * BS);
			in = 0;
		}
	}
	be64(&c, bytes);
	sha256_digest(&c, IMAGE_DIGEST_BYTES, out);
}

int main(void)
{
	struct tap t = { 0 };
	unsigned char *img = calloc(NBLK, BS), want[32], got[32], thr[32];
	uint32_t seed = 7;
	uint64_t b, n;
	int round;

	for (round = 0; round < 6; round++) {
		struct image_digest d1, d2;
		struct digest_async *a;
		char name[80];

		/* blocks non-zero in stretches, some with one byte set */
		memset(img, 0, (size_t)NBLK * BS);
		for (b = 0; b < NBLK; b++)
			if (rnd(&seed) % 3)
				img[b * BS + rnd(&seed) % BS] = (unsigned char)(1 + rnd(&seed) % 255);
		model(img, NBLK, (uint64_t)NBLK * BS * 2, want);
		digest_init(&d1, BS);
		digest_init(&d2, BS);
		a = digest_async_start(&d2);
		TAP_CHECK(&t, a != NULL, "a digest thread starts");
		/* the same pieces to both, in order, gaps (blocks never
		 * given) reading as zeros */
		for (b = 0; b < NBLK; b += n) {
			n = 1 + rnd(&seed) % (round < 3 ? 8 : 700);
			if (b + n > NBLK)
				n = NBLK - b;
			if (rnd(&seed) % 5 == 0) {
				int zero = 1;
				uint64_t k;

				for (k = 0; k < n * BS; k++)
					zero &= !img[b * BS + k];
				if (zero)
					continue;  /* a hole */
			}
			digest_blocks(&d1, b, n, img + b * BS);
			if (a)
				digest_async_blocks(a, b, n, img + b * BS);
		}
		digest_async_finish(a);
		TAP_CHECK(&t, digest_final(&d1, (uint64_t)NBLK * BS * 2, got) == 0,
			  "in order: a digest");
		snprintf(name, sizeof(name), "round %d: the documented construction", round);
		TAP_CHECK(&t, !memcmp(got, want, 32), name);
		digest_final(&d2, (uint64_t)NBLK * BS * 2, thr);
		snprintf(name, sizeof(name), "round %d: the thread's digest is the same", round);
		TAP_CHECK(&t, !memcmp(thr, want, 32), name);
	}
	{
		struct image_digest d;

		digest_init(&d, BS);
		digest_blocks(&d, 10, 1, img + 10 * BS);
		digest_blocks(&d, 5, 1, img + 5 * BS);
		TAP_CHECK(&t, digest_final(&d, NBLK * BS, got) == -1,
			  "blocks out of order: no digest");
	}
	digest_async_finish(NULL);
	free(img);
	return tap_done(&t);
}
