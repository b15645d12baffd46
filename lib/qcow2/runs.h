/*
 * Guest clusters that hold data, built from byte ranges that come in
 * ascending order (captured blocks): each range rounded out to whole
 * clusters, touching ones merged.
 */
#ifndef E2I_QCOW2_RUNS_H
#define E2I_QCOW2_RUNS_H

#include <stddef.h>
#include <stdint.h>
#include "layout.h"

struct qcow2_runs {
	struct qcow2_run *v;
	size_t n, cap;
	uint64_t clusters;   /* in all runs */
};

/* Adds guest clusters [first, end); 0, ENOMEM, or EDOM when they come
 * before what was added already. */
int qcow2_runs_add(struct qcow2_runs *r, uint64_t first, uint64_t end);
/* Adds the clusters of cluster size 2^cb that bytes [off, off+len) touch. */
int qcow2_runs_add_bytes(struct qcow2_runs *r, unsigned cb, uint64_t off,
			 uint64_t len);
void qcow2_runs_free(struct qcow2_runs *r);

#endif
