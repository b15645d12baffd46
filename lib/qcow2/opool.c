#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "opool.h"

/*
 * A ring: [tail, taken) being worked on or done, [taken, head) waiting
 * for a worker, head the one being filled. Slots go around in order, so
 * the oldest is always the next to hand back.
 */
struct qcow2_opool {
	struct qcow2_opool_ops ops;
	void **b;
	unsigned nb, nthreads, nctx;
	void **ctx;               /* one per thread, or one for the caller */
	int *done;
	uint64_t head, tail, taken;
	int quit;
	pthread_mutex_t lock;
	pthread_cond_t work, finished;
	pthread_t *threads;
};

struct worker_arg {
	struct qcow2_opool *p;
	void *ctx;
};

static void *worker(void *arg)
{
	struct qcow2_opool *p = ((struct worker_arg *)arg)->p;
	void *ctx = ((struct worker_arg *)arg)->ctx;

	free(arg);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		uint64_t k;

		while (!p->quit && p->taken == p->head)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->quit)
			break;
		k = p->taken++;
		pthread_mutex_unlock(&p->lock);
		p->ops.work(ctx, p->b[k % p->nb]);
		pthread_mutex_lock(&p->lock);
		p->done[k % p->nb] = 1;
		pthread_cond_broadcast(&p->finished);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

unsigned qcow2_opool_batches(unsigned threads)
{
	return threads > 1 ? 2 * threads + 1 : 1;
}

struct qcow2_opool *qcow2_opool_new(unsigned threads, void **batches,
				    const struct qcow2_opool_ops *ops)
{
	struct qcow2_opool *p = calloc(1, sizeof(*p));
	unsigned i, nc;

	if (!p)
		return NULL;
	p->ops = *ops;
	p->b = batches;
	p->nb = qcow2_opool_batches(threads);
	nc = threads > 1 ? threads : 1;
	p->done = calloc(p->nb, sizeof(*p->done));
	p->ctx = calloc(nc, sizeof(*p->ctx));
	p->threads = calloc(nc, sizeof(*p->threads));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->finished, NULL);
	if (!p->done || !p->ctx || !p->threads)
		goto fail;
	for (; p->nctx < nc; p->nctx++)
		if (!(p->ctx[p->nctx] = ops->ctx_new(ops->arg)))
			goto fail;
	for (i = 0; threads > 1 && i < threads; i++) {
		struct worker_arg *a = malloc(sizeof(*a));

		if (!a)
			goto fail;
		a->p = p;
		a->ctx = p->ctx[i];
		if (pthread_create(&p->threads[i], NULL, worker, a)) {
			free(a);
			goto fail;
		}
		p->nthreads++;
	}
	return p;
fail:
	qcow2_opool_free(p);
	return NULL;
}

void *qcow2_opool_next(struct qcow2_opool *p)
{
	return p->head - p->tail == p->nb ? NULL : p->b[p->head % p->nb];
}

void qcow2_opool_submit(struct qcow2_opool *p)
{
	uint64_t k = p->head;

	if (!p->nthreads) {
		p->ops.work(p->ctx[0], p->b[k % p->nb]);
		p->done[k % p->nb] = 1;
		p->head++;
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->done[k % p->nb] = 0;
	p->head++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void *qcow2_opool_oldest(struct qcow2_opool *p)
{
	unsigned slot = (unsigned)(p->tail % p->nb);

	if (p->tail == p->head)
		return NULL;
	if (p->nthreads) {
		pthread_mutex_lock(&p->lock);
		while (!p->done[slot])
			pthread_cond_wait(&p->finished, &p->lock);
		pthread_mutex_unlock(&p->lock);
	}
	return p->b[slot];
}

void qcow2_opool_release(struct qcow2_opool *p)
{
	if (p->tail < p->head)
		p->tail++;
}

void qcow2_opool_free(struct qcow2_opool *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	for (i = 0; i < p->nctx; i++)
		p->ops.ctx_free(p->ctx[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->finished);
	free(p->done);
	free(p->ctx);
	free(p->threads);
	free(p);
}
