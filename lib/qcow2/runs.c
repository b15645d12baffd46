#include <errno.h>
#include <stdlib.h>
#include "runs.h"

int qcow2_runs_add(struct qcow2_runs *r, uint64_t first, uint64_t end)
{
	struct qcow2_run *last = r->n ? &r->v[r->n - 1] : NULL;

	if (end <= first)
		return 0;
	if (last && first < last->start)
		return EDOM;
	if (last && first <= last->start + last->len) {
		if (end > last->start + last->len) {
			r->clusters += end - (last->start + last->len);
			last->len = end - last->start;
		}
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct qcow2_run *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n].start = first;
	r->v[r->n].len = end - first;
	r->n++;
	r->clusters += end - first;
	return 0;
}

int qcow2_runs_add_bytes(struct qcow2_runs *r, unsigned cb, uint64_t off,
			 uint64_t len)
{
	uint64_t cs = (uint64_t)1 << cb;

	if (!len)
		return 0;
	return qcow2_runs_add(r, off >> cb, (off + len + cs - 1) >> cb);
}

void qcow2_runs_free(struct qcow2_runs *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
	r->clusters = 0;
}
