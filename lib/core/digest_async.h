/*
 * The image digest on a thread of its own: SHA-256 runs at about 1.2 GB/s
 * here (SHA-NI), 0.08 s of a 0.2 s -Q of the bench fixture when the copy
 * thread does it. With a second core, the copy thread hands each chunk's
 * bytes over (a copy into a ring of buffers, a tenth of the hashing's
 * cost) and goes on reading and writing while the digest thread hashes.
 * The digest is the same as digest_blocks' on one thread: the pieces are
 * hashed in the order given.
 */
#ifndef E2I_DIGEST_ASYNC_H
#define E2I_DIGEST_ASYNC_H

#include <stdint.h>
#include "digest.h"

struct digest_async;

/* A digest thread feeding d; NULL when no thread could be had (then the
 * caller hashes on its own thread). Stop signals stay with the caller's
 * thread. */
struct digest_async *digest_async_start(struct image_digest *d);
/* As digest_blocks(d, blk, n, buf); buf may be reused on return. */
void digest_async_blocks(struct digest_async *a, uint64_t blk, uint64_t n,
			 const void *buf);
/* Waits until every piece given is hashed into d, and ends the thread. */
void digest_async_finish(struct digest_async *a);

#endif
