/*
 * Inflating compressed clusters as qemu does: a cluster is good when its
 * stream gives exactly cluster_size bytes (a stream that goes on past
 * them is cut there, as qemu cuts it). One decompressor per thread.
 */
#ifndef E2I_QCOW2_DECOMPRESS_H
#define E2I_QCOW2_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include "opool.h"

struct qcow2_decompressor;

/* NULL when out of memory or the type is not built in. */
struct qcow2_decompressor *qcow2_decompressor_new(int type);
/* 0; or -1 with *why (a static string) and *produced (bytes it gave, when
 * that is the problem; UINT64_MAX otherwise). */
int qcow2_decompress(struct qcow2_decompressor *d, const void *in, size_t len,
		     void *out, size_t cs, const char **why, uint64_t *produced);
void qcow2_decompressor_free(struct qcow2_decompressor *d);

/* Clusters inflated together on one thread. */
struct qcow2_dbatch {
	unsigned n;
	size_t cs;
	unsigned char *in;        /* their compressed bytes, one after another */
	size_t in_used;
	size_t *ioff;
	uint32_t *ilen;
	uint64_t *guest, *host;   /* where they map, where they were */
	uint32_t *len;            /* bytes to deliver (the last may be short) */
	unsigned char *out;       /* n clusters */
	const char **why;         /* NULL: good */
	uint64_t *produced;
};

/* nb batches of `per` clusters of up to 2 * cs compressed bytes. */
struct qcow2_dbatch *qcow2_dbatches_new(unsigned nb, unsigned per, size_t cs);
void qcow2_dbatches_free(struct qcow2_dbatch *b, unsigned nb);
/* type must outlive the pool. */
void qcow2_decompress_ops(struct qcow2_opool_ops *ops, int *type);

#endif
