/*
 * Sinks for the two passes of -Q. The probe records which captured blocks
 * are not zero (a qcow2 file lists its clusters before their data, so this
 * must be known first); the assembler gathers the blocks of the second pass
 * into clusters and sends them, in guest order, behind the metadata.
 */
#ifndef E2I_QCOW2_DATA_H
#define E2I_QCOW2_DATA_H

#include "blockmap.h"
#include "layout.h"
#include "sink.h"

/* Blocks handed to it go into `nonzero` (a map of the same geometry). */
errcode_t probe_sink_new(struct blockmap *nonzero, unsigned blocksize,
			 struct e2i_error *err, struct sink **out);

/* Clusters planned in `runs` (at file cluster plan->data_at + rank) are
 * written to `out`; a planned cluster no block arrives for is written as
 * zeros, a block outside the plan is an error. */
errcode_t cluster_sink_new(const struct qcow2_plan *plan,
			   const struct qcow2_run *runs, size_t nruns,
			   unsigned blocksize, struct sink *out,
			   const char *name, struct e2i_error *err,
			   struct sink **sink);

#endif
