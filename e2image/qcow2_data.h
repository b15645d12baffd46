/*
 * Sinks for -Q. A file that can be written out of order takes one pass: the
 * appender puts each cluster that holds data right behind the header, in
 * guest order, and records which they are, so the tables can follow them.
 * A stream takes two: the probe records which captured blocks are not zero
 * (the tables come first and depend on it); the assembler gathers the
 * blocks of the second pass into clusters and sends them, in guest order,
 * behind the metadata.
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

/* Blocks handed to it go into `nonzero` and, gathered into clusters, to
 * `out` at file clusters 1, 2, ... in the order they come (guest order). */
errcode_t append_sink_new(struct blockmap *nonzero, unsigned blocksize,
			  uint64_t cluster_size, struct sink *out,
			  const char *name, struct e2i_error *err,
			  struct sink **sink);
/* Clusters the appender has taken so far. */
uint64_t append_sink_clusters(const struct sink *s);

#endif
