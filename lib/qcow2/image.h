/*
 * A whole qcow2 file from the guest bytes that hold data: the command, the
 * compressor and the fuzzer all write images through this. Bytes come in
 * ascending guest order (captured blocks, zero ones left out); they are
 * gathered into clusters, compressed or not, and the tables are written
 * where the output allows:
 *
 *   data first (a file): [header][data][L1][refcounts][L2], one pass;
 *   tables first (a stream): [header][L1][refcounts][L2][data], either from
 *     the clusters known beforehand (params.runs: a first pass found them)
 *     or, compressed, by keeping the packed data (in memory up to a bound,
 *     then in an unnamed temporary file) until the sizes are known.
 *
 * Compressed clusters are packed at byte granularity, as qemu packs them;
 * a cluster that does not shrink is stored whole, at a cluster boundary.
 */
#ifndef E2I_QCOW2_IMAGE_H
#define E2I_QCOW2_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "layout.h"
#include "writer.h"

#define QCOW2_NO_COMPRESSION (-1)

/* Errors of qcow2_image_write besides the errnos and emit's codes. */
#define QCOW2_E_ORDER EDOM     /* bytes before ones already written */
#define QCOW2_E_UNPLANNED ERANGE  /* tables first: a cluster not in runs */

struct qcow2_image_params {
	uint64_t size;            /* virtual size, bytes */
	unsigned cluster_bits;
	uint32_t version;         /* 2 or 3; zstd needs 3 */
	int compress;             /* QCOW2_NO_COMPRESSION or QCOW2_COMPRESS_* */
	int level;
	unsigned threads;         /* compressing threads; 0 or 1: the caller's */
	int data_first;           /* the output takes clusters in any order */
	/* Tables first, uncompressed: the guest clusters that will hold data. */
	const struct qcow2_run *runs;
	size_t nruns;
	size_t mem_bound;         /* tables first, compressed: bytes kept in memory */
	const char *tmpdir;       /* then spilled here (NULL: $TMPDIR, /tmp) */
	qcow2_emit_fn emit;       /* whole clusters, at file cluster `at` */
	void *arg;
};

struct qcow2_image_stats {
	uint64_t guest_clusters;  /* with data */
	uint64_t compressed;      /* of them stored compressed */
	uint64_t data_bytes;      /* the data area, packing included */
	uint64_t spilled;         /* bytes that went to the temporary file */
};

struct qcow2_image;

/* 0, or an errno (EINVAL: bad parameters, with why filled in). */
int qcow2_image_new(const struct qcow2_image_params *prm,
		    struct qcow2_image **out, char *why, size_t whylen);
/* Guest bytes [off, off + len); 0 or an error (see above). */
int qcow2_image_write(struct qcow2_image *img, uint64_t off, const void *buf,
		      size_t len);
/* A header extension for the file (data copied): any time before the
 * header goes out, which is at qcow2_image_finish but for an uncompressed
 * tables-first image, where it is before the first data. 0; EFBIG when it
 * does not fit in the header cluster (qcow2_ext_room); EBUSY when the
 * header is out already. */
int qcow2_image_set_ext(struct qcow2_image *img, uint32_t type,
			const void *data, size_t len);
/* Writes what is left and the tables; 0 or an error. */
int qcow2_image_finish(struct qcow2_image *img);
/* The layout: tables first, uncompressed, from qcow2_image_new on; else
 * once finished. */
const struct qcow2_plan *qcow2_image_layout(const struct qcow2_image *img);
void qcow2_image_stats(const struct qcow2_image *img,
		       struct qcow2_image_stats *st);
/* Where a spill goes (for messages). */
const char *qcow2_image_spill_dir(const struct qcow2_image *img);
void qcow2_image_free(struct qcow2_image *img);

#endif
