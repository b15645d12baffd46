#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "compress.h"
#include "cpool.h"

/*
 * A ring of batches: [tail, taken) being compressed, [taken, head) waiting
 * for a worker, head the one being filled. Slots go around in order, so
 * the oldest is always the next to hand back.
 */
struct qcow2_cpool {
	size_t cs;
	unsigned per, nb, nthreads;
	struct qcow2_batch *b;
	int *done;
	uint64_t head, tail, taken;
	int quit;
	pthread_mutex_t lock;
	pthread_cond_t work, finished;
	pthread_t *threads;
	struct qcow2_compressor **cz;    /* one per thread, or one inline */
	unsigned ncz;
	int type, level;
};

static void compress_batch(struct qcow2_compressor *c, size_t cs,
			   struct qcow2_batch *b)
{
	unsigned i;

	for (i = 0; i < b->n; i++)
		b->olen[i] = (uint32_t)qcow2_compress(c, b->in + i * cs, cs,
						      b->out + i * (cs - 1), cs - 1);
}

struct worker_arg {
	struct qcow2_cpool *p;
	unsigned id;
};

static void *worker(void *arg)
{
	struct qcow2_cpool *p = ((struct worker_arg *)arg)->p;
	struct qcow2_compressor *c = p->cz[((struct worker_arg *)arg)->id];

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
		compress_batch(c, p->cs, &p->b[k % p->nb]);
		pthread_mutex_lock(&p->lock);
		p->done[k % p->nb] = 1;
		pthread_cond_broadcast(&p->finished);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct qcow2_cpool *qcow2_cpool_new(int type, int level, size_t cs,
				    unsigned threads, unsigned per)
{
	struct qcow2_cpool *p = calloc(1, sizeof(*p));
	unsigned i, nc;

	if (!p)
		return NULL;
	p->cs = cs;
	p->per = per ? per : 1;
	p->type = type;
	p->level = level;
	p->nthreads = threads > 1 ? threads : 0;
	/* Two batches per thread keep each busy while the caller packs. */
	p->nb = p->nthreads ? 2 * p->nthreads + 1 : 1;
	nc = p->nthreads ? p->nthreads : 1;
	p->b = calloc(p->nb, sizeof(*p->b));
	p->done = calloc(p->nb, sizeof(*p->done));
	p->cz = calloc(nc, sizeof(*p->cz));
	p->threads = calloc(nc, sizeof(*p->threads));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->finished, NULL);
	if (!p->b || !p->done || !p->cz || !p->threads)
		goto fail;
	for (i = 0; i < p->nb; i++) {
		p->b[i].in = malloc(p->per * cs);
		p->b[i].out = malloc(p->per * (cs - 1));
		p->b[i].olen = calloc(p->per, sizeof(uint32_t));
		if (!p->b[i].in || !p->b[i].out || !p->b[i].olen)
			goto fail;
	}
	for (; p->ncz < nc; p->ncz++)
		if (!(p->cz[p->ncz] = qcow2_compressor_new(type, level)))
			goto fail;
	for (i = 0; i < p->nthreads; i++) {
		struct worker_arg *a = malloc(sizeof(*a));

		if (!a)
			goto fail;
		a->p = p;
		a->id = i;
		if (pthread_create(&p->threads[i], NULL, worker, a)) {
			free(a);
			p->nthreads = i;  /* those started are joined */
			goto fail;
		}
	}
	return p;
fail:
	qcow2_cpool_free(p);
	return NULL;
}

struct qcow2_batch *qcow2_cpool_next(struct qcow2_cpool *p)
{
	struct qcow2_batch *b;

	if (p->head - p->tail == p->nb)
		return NULL;
	b = &p->b[p->head % p->nb];
	b->n = 0;
	return b;
}

void qcow2_cpool_submit(struct qcow2_cpool *p)
{
	uint64_t k = p->head;

	if (!p->nthreads) {
		compress_batch(p->cz[0], p->cs, &p->b[k % p->nb]);
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

struct qcow2_batch *qcow2_cpool_oldest(struct qcow2_cpool *p)
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
	return &p->b[slot];
}

void qcow2_cpool_release(struct qcow2_cpool *p)
{
	if (p->tail < p->head)
		p->tail++;
}

void qcow2_cpool_free(struct qcow2_cpool *p)
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
	for (i = 0; i < p->ncz; i++)
		qcow2_compressor_free(p->cz[i]);
	for (i = 0; p->b && i < p->nb; i++) {
		free(p->b[i].in);
		free(p->b[i].out);
		free(p->b[i].olen);
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->finished);
	free(p->b);
	free(p->done);
	free(p->cz);
	free(p->threads);
	free(p);
}
