/*
 * The image digest: SHA-256 of the raw-equivalent image (the bytes `-r`
 * would give), computed from the captured blocks alone, so its cost follows
 * what was captured, never the filesystem's size. A block of zeros and a
 * hole are the same thing in a raw image, so only non-zero blocks count:
 *
 *   for each maximal run of non-zero blocks, in ascending offset order:
 *       the run's bytes, then its byte offset and its byte length
 *       (each 8 bytes, big-endian)
 *   then the image's length in bytes (8 bytes, big-endian)
 *
 * Blocks are of the filesystem's block size, offsets counted from the
 * filesystem's first byte. The trailer after each run (rather than a
 * header before it) lets the runs be hashed as they stream past, their
 * length unknown until they end; read from the end, the encoding is
 * unambiguous. doc/e2image.8 gives a recipe to recompute it.
 */
#ifndef E2I_DIGEST_H
#define E2I_DIGEST_H

#include <stdint.h>
#include <nettle/sha2.h>

#define IMAGE_DIGEST_BYTES SHA256_DIGEST_SIZE

struct image_digest {
	struct sha256_ctx ctx;
	unsigned blocksize;
	uint64_t run_start, run_len;  /* bytes; run_len 0: no run open */
	uint64_t next;                /* the first block not seen yet */
	uint64_t nonzero;             /* blocks hashed */
	int disorder;                 /* blocks came out of order: no digest */
};

void digest_init(struct image_digest *d, unsigned blocksize);
/* Blocks [blk, blk + n) of the image, buf holding their bytes; calls
 * must come in ascending order, each block at most once (blocks never
 * passed read as zeros). */
void digest_blocks(struct image_digest *d, uint64_t blk, uint64_t n,
		   const void *buf);
/* Ends the digest of an image of image_bytes bytes; returns 0, or -1
 * when the blocks came out of order. */
int digest_final(struct image_digest *d, uint64_t image_bytes,
		 unsigned char out[IMAGE_DIGEST_BYTES]);
/* out as 64 lower-case hex digits and a NUL. */
void digest_hex(const unsigned char in[IMAGE_DIGEST_BYTES], char out[65]);

#endif
