/*
 * The streaming writer: emits a planned qcow2 file's metadata clusters, in
 * file order, so the data clusters can follow in guest order. It never
 * seeks: the output may be a pipe.
 */
#ifndef E2I_QCOW2_WRITER_H
#define E2I_QCOW2_WRITER_H

#include "layout.h"

/* Receives n whole clusters that go at file cluster `at`; 0 or an errno. */
typedef int (*qcow2_emit_fn)(void *arg, uint64_t at, const void *buf,
			     uint64_t n);

/* Emits the metadata clusters in file order: the header, then L1, refcount
 * table, refcount blocks and L2 tables (clusters [0, data_at), or, in a
 * data-first plan, cluster 0 and [l1_at, total)). */
int qcow2_write_metadata(const struct qcow2_plan *p,
			 const struct qcow2_run *runs, size_t nruns,
			 qcow2_emit_fn emit, void *arg);

/*
 * A data area of packed compressed clusters (and whole ones where they did
 * not shrink): l2[k] is the L2 entry of the k-th guest cluster with data,
 * its host offset counted from the start of the data area; refs[i] the
 * refcount of the area's i-th cluster (compressed clusters share them).
 */
struct qcow2_packed {
	const uint64_t *l2;
	const uint16_t *refs;
};

/* qcow2_write_metadata for a plan made by qcow2_plan_make_packed. */
int qcow2_write_metadata_packed(const struct qcow2_plan *p,
				const struct qcow2_run *runs, size_t nruns,
				const struct qcow2_packed *pk,
				qcow2_emit_fn emit, void *arg);

#endif
