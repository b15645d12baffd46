#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "digest_async.h"

#define RING 8
#define BUF_BYTES (256u << 10)  /* the copy engine's chunk */
#define MAX_PIECES 256

struct piece {
	uint64_t blk, n;
	size_t at;
};

struct ring_buf {
	unsigned char *bytes;
	size_t used;
	struct piece p[MAX_PIECES];
	size_t np;
};

/* [tail, head) full and waiting or being hashed; head the one filling. */
struct digest_async {
	struct image_digest *d;
	struct ring_buf r[RING];
	uint64_t head, tail;
	int quit;
	pthread_mutex_t lock;
	pthread_cond_t more, room;
	pthread_t thread;
};

static void *hasher(void *arg)
{
	struct digest_async *a = arg;
	size_t i;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct ring_buf *b;

		while (a->tail == a->head && !a->quit)
			pthread_cond_wait(&a->more, &a->lock);
		if (a->tail == a->head)
			break;
		b = &a->r[a->tail % RING];
		pthread_mutex_unlock(&a->lock);
		for (i = 0; i < b->np; i++)
			digest_blocks(a->d, b->p[i].blk, b->p[i].n, b->bytes + b->p[i].at);
		b->np = b->used = 0;
		pthread_mutex_lock(&a->lock);
		a->tail++;
		pthread_cond_signal(&a->room);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void free_bufs(struct digest_async *a)
{
	int i;

	for (i = 0; i < RING; i++)
		free(a->r[i].bytes);
	free(a);
}

struct digest_async *digest_async_start(struct image_digest *d)
{
	struct digest_async *a = calloc(1, sizeof(*a));
	sigset_t all, old;
	int i, rc;

	if (!a)
		return NULL;
	for (i = 0; i < RING; i++)
		if (!(a->r[i].bytes = malloc(BUF_BYTES))) {
			free_bufs(a);
			return NULL;
		}
	a->d = d;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->more, NULL);
	pthread_cond_init(&a->room, NULL);
	/* signals go to the copy thread, whose blocked read or write they
	 * must interrupt */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&a->thread, NULL, hasher, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->more);
		pthread_cond_destroy(&a->room);
		free_bufs(a);
		return NULL;
	}
	return a;
}

/* Hands the filling buffer to the hasher and waits for a free one. */
static void submit(struct digest_async *a)
{
	pthread_mutex_lock(&a->lock);
	a->head++;
	pthread_cond_signal(&a->more);
	while (a->head - a->tail >= RING)
		pthread_cond_wait(&a->room, &a->lock);
	pthread_mutex_unlock(&a->lock);
}

void digest_async_blocks(struct digest_async *a, uint64_t blk, uint64_t n,
			 const void *buf)
{
	uint64_t bs = a->d->blocksize;
	const unsigned char *p = buf;

	while (n) {
		/* the head buffer is the caller's alone until submitted */
		struct ring_buf *b = &a->r[a->head % RING];
		uint64_t k = (BUF_BYTES - b->used) / bs;

		if (k > n)
			k = n;
		if (!k || b->np == MAX_PIECES) {
			submit(a);
			continue;
		}
		memcpy(b->bytes + b->used, p, k * bs);
		b->p[b->np++] = (struct piece){ blk, k, b->used };
		b->used += k * bs;
		blk += k;
		p += k * bs;
		n -= k;
		if (b->used + bs > BUF_BYTES)
			submit(a);
	}
}

void digest_async_finish(struct digest_async *a)
{
	if (!a)
		return;
	if (a->r[a->head % RING].np)
		submit(a);
	pthread_mutex_lock(&a->lock);
	a->quit = 1;
	pthread_cond_signal(&a->more);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->more);
	pthread_cond_destroy(&a->room);
	free_bufs(a);
}
