#include <string.h>
#include "digest.h"
#include "zero.h"

void digest_init(struct image_digest *d, unsigned blocksize)
{
	memset(d, 0, sizeof(*d));
	sha256_init(&d->ctx);
	d->blocksize = blocksize;
}

static void put_be64(struct image_digest *d, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	sha256_update(&d->ctx, sizeof(b), b);
}

static void end_run(struct image_digest *d)
{
	if (!d->run_len)
		return;
	put_be64(d, d->run_start);
	put_be64(d, d->run_len);
	d->run_len = 0;
}

void digest_blocks(struct image_digest *d, uint64_t blk, uint64_t n,
		   const void *buf)
{
	const uint8_t *p = buf;
	uint64_t bs = d->blocksize, i = 0;

	if (blk < d->next)
		d->disorder = 1;
	if (d->disorder || !n)
		return;
	d->next = blk + n;
	/* a run goes on across calls only when nothing came between */
	if (d->run_len && d->run_start + d->run_len != blk * bs)
		end_run(d);
	while (i < n) {
		uint64_t start;

		for (start = i; i < n && !is_zero(p + i * bs, bs); i++)
			;
		if (i > start) {
			if (!d->run_len)
				d->run_start = (blk + start) * bs;
			d->run_len += (i - start) * bs;
			d->nonzero += i - start;
			sha256_update(&d->ctx, (size_t)((i - start) * bs),
				      p + start * bs);
		}
		if (i < n) {   /* a zero block ends the run */
			end_run(d);
			i++;
		}
	}
}

int digest_final(struct image_digest *d, uint64_t image_bytes,
		 unsigned char out[IMAGE_DIGEST_BYTES])
{
	end_run(d);
	put_be64(d, image_bytes);
	sha256_digest(&d->ctx, IMAGE_DIGEST_BYTES, out);
	return d->disorder ? -1 : 0;
}

void digest_hex(const unsigned char in[IMAGE_DIGEST_BYTES], char out[65])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < IMAGE_DIGEST_BYTES; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[64] = 0;
}
