/*
 * Clusters compressed in batches, on worker threads, handed back in the
 * order they were given: the bytes of the image do not depend on how many
 * threads there are. With one thread (or none asked) everything runs on
 * the caller's, with no hand-off at all.
 */
#ifndef E2I_QCOW2_CPOOL_H
#define E2I_QCOW2_CPOOL_H

#include <stddef.h>
#include <stdint.h>

struct qcow2_batch {
	unsigned n;               /* clusters in it */
	unsigned char *in;        /* n clusters */
	unsigned char *out;       /* compressed, one cluster_size - 1 slot each */
	uint32_t *olen;           /* 0: did not shrink, store as it is */
};

struct qcow2_cpool;

/* per: clusters per batch. NULL when out of memory, the codec is missing,
 * or a thread could not start. */
struct qcow2_cpool *qcow2_cpool_new(int type, int level, size_t cluster_size,
				    unsigned threads, unsigned per);
/* The batch to fill next; NULL while every batch is in flight (take the
 * oldest first). */
struct qcow2_batch *qcow2_cpool_next(struct qcow2_cpool *p);
/* The batch from qcow2_cpool_next is full (n set): compress it. */
void qcow2_cpool_submit(struct qcow2_cpool *p);
/* The oldest batch submitted, once compressed (waiting for it); NULL when
 * none is in flight. Give it back with qcow2_cpool_release once used. */
struct qcow2_batch *qcow2_cpool_oldest(struct qcow2_cpool *p);
void qcow2_cpool_release(struct qcow2_cpool *p);
/* Stops the threads (work in flight is dropped) and frees everything. */
void qcow2_cpool_free(struct qcow2_cpool *p);

#endif
