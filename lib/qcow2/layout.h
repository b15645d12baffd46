/*
 * Layout of a qcow2 file written front to back: every offset is known before
 * the first byte, from the virtual size and the set of allocated guest
 * clusters alone, so the file can go to a pipe.
 *
 *   [header][L1][refcount table][refcount blocks][L2 tables][data clusters]
 *
 * Every cluster is referenced exactly once (refcount 1): nothing leaks.
 *
 * A file that can be written out of order may put the data first instead,
 *
 *   [header][data clusters][L1][refcount table][refcount blocks][L2 tables]
 *
 * so that the data is written in one pass as it is read, and the tables,
 * which depend on which clusters turned out to hold data, last.
 */
#ifndef E2I_QCOW2_LAYOUT_H
#define E2I_QCOW2_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include "qcow2.h"

/* Allocated guest clusters [start, start + len), sorted and disjoint. */
struct qcow2_run {
	uint64_t start;
	uint64_t len;
};

struct qcow2_plan {
	uint32_t version;
	unsigned cluster_bits;
	uint64_t cluster_size;
	uint64_t size;            /* virtual size, bytes */
	uint64_t l1_size;         /* entries */
	uint64_t l2_entries;      /* per L2 table */
	uint64_t l1_clusters, rt_clusters, rb_clusters;
	uint64_t n_l2, n_data;    /* n_data: clusters of the data area */
	int compression_type;     /* QCOW2_COMPRESS_*; in the header if zstd */
	uint64_t total;           /* clusters in the file */
	/* First cluster of each area. */
	uint64_t l1_at, rt_at, rb_at, l2_at, data_at;
	/* A header extension to write after the header, or NULL (set by
	 * the caller after the plan is made). */
	const struct qcow2_ext *ext;
};

enum qcow2_plan_result {
	QCOW2_PLAN_OK = 0,
	QCOW2_PLAN_L1_TOO_LARGE,      /* qemu caps the L1 table at 32 MiB */
	QCOW2_PLAN_REFTABLE_TOO_LARGE,
	QCOW2_PLAN_BAD_ARGS,
};

/* The smallest cluster_bits >= min_bits whose L1 table qemu accepts for a
 * disk of this size, or 0 when even 2 MiB clusters are too small. */
unsigned qcow2_pick_cluster_bits(uint64_t size, unsigned min_bits);
/* log2 of a power of two (cluster and block sizes). */
unsigned qcow2_log2(uint64_t v);
enum qcow2_plan_result qcow2_plan_make(struct qcow2_plan *p, uint64_t size,
				       unsigned cluster_bits, uint32_t version,
				       const struct qcow2_run *runs, size_t nruns);
/* The same for a data area of n_data clusters holding packed compressed
 * clusters (n_data is not then the number of guest clusters in runs). */
enum qcow2_plan_result qcow2_plan_make_packed(struct qcow2_plan *p,
					      uint64_t size, unsigned cluster_bits,
					      uint32_t version,
					      const struct qcow2_run *runs,
					      size_t nruns, uint64_t n_data,
					      int compression_type);
/* Moves a made plan's data clusters right behind the header, the tables
 * after them (same clusters in all, so the refcounts are unchanged). */
void qcow2_plan_data_first(struct qcow2_plan *p);
/*
 * Whether a data-first file is safe for a disk of this size with at most
 * max_data data clusters: its clusters must start at 2 KiB or more (a data
 * cluster at byte 1024 of the file, a filesystem's superblock, would make
 * blkid and mount take the image file for that filesystem), and the file
 * must end within the virtual size (e2fsprogs' reader skips L2 tables that
 * lie past it, and the tables come last here).
 */
int qcow2_data_first_fits(uint64_t size, unsigned cluster_bits,
			  uint64_t max_data);
const char *qcow2_plan_strerror(enum qcow2_plan_result r);

#endif
