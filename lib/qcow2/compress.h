/*
 * Compressing one data cluster as qemu stores it: raw deflate (qemu's
 * "zlib" type) or a zstd frame. One compressor per thread, kept for its
 * life: qemu builds a new context per cluster, which at 4 KiB clusters
 * costs more than the compression.
 */
#ifndef E2I_QCOW2_COMPRESS_H
#define E2I_QCOW2_COMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include "opool.h"

struct qcow2_compressor;

/* Whether this build can write the type (QCOW2_COMPRESS_DEFLATE or _ZSTD). */
int qcow2_codec_available(int type);
/* The levels a type takes, and the one used when none is given. */
void qcow2_codec_levels(int type, int *min, int *max, int *dflt);
/* The name the command line uses: "zlib" or "zstd". */
const char *qcow2_codec_name(int type);

/* NULL when out of memory or the type is not available. */
struct qcow2_compressor *qcow2_compressor_new(int type, int level);
/*
 * Compresses len bytes into out, at most cap bytes. Returns the compressed
 * length, or 0 when it would not fit in cap (the cluster is stored as it
 * is) or the codec failed.
 */
size_t qcow2_compress(struct qcow2_compressor *c, const void *in, size_t len,
		      void *out, size_t cap);
void qcow2_compressor_free(struct qcow2_compressor *c);

/* Clusters compressed together on one thread (opool.h). */
struct qcow2_zbatch {
	unsigned n;               /* clusters in it */
	size_t cs;
	unsigned char *in;        /* n clusters */
	unsigned char *out;       /* one cs - 1 slot per cluster */
	uint32_t *olen;           /* 0: did not shrink, store it as it is */
};

struct qcow2_codec_choice {
	int type, level;
};

/* nb batches of per clusters each; NULL when out of memory. */
struct qcow2_zbatch *qcow2_zbatches_new(unsigned nb, unsigned per, size_t cs);
void qcow2_zbatches_free(struct qcow2_zbatch *b, unsigned nb);
/* The pool's operations for compressing batches with `choice` (which
 * must outlive the pool). */
void qcow2_compress_ops(struct qcow2_opool_ops *ops,
			struct qcow2_codec_choice *choice);

#endif
