/*
 * Compressing one data cluster as qemu stores it: raw deflate (qemu's
 * "zlib" type) or a zstd frame. One compressor per thread, kept for its
 * life: qemu builds a new context per cluster, which at 4 KiB clusters
 * costs more than the compression.
 */
#ifndef E2I_QCOW2_COMPRESS_H
#define E2I_QCOW2_COMPRESS_H

#include <stddef.h>

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

#endif
