/*
 * Work done in batches on worker threads and handed back in the order it
 * was given, so that what is written never depends on how many threads
 * there are (btrfs-image's and qemu's shape). With fewer than two threads
 * the work runs on the caller's, with no hand-off at all: on a loaded or
 * one-core machine a thread only adds switches.
 *
 * The batches are the caller's (nb of them, any type); the pool only says
 * which one to fill next and which one is done.
 */
#ifndef E2I_QCOW2_OPOOL_H
#define E2I_QCOW2_OPOOL_H

struct qcow2_opool_ops {
	/* One context per thread, for its life (a codec's state). */
	void *(*ctx_new)(void *arg);
	void (*ctx_free)(void *ctx);
	void (*work)(void *ctx, void *batch);
	void *arg;
};

struct qcow2_opool;

/* Two batches per thread keep each busy while the caller uses the done
 * ones: how many a pool of `threads` needs. */
unsigned qcow2_opool_batches(unsigned threads);
/* batches: qcow2_opool_batches(threads) of them. NULL when out of memory,
 * a context could not be made or a thread could not start. */
struct qcow2_opool *qcow2_opool_new(unsigned threads, void **batches,
				    const struct qcow2_opool_ops *ops);
/* The batch to fill next; NULL while all are in flight (use the oldest). */
void *qcow2_opool_next(struct qcow2_opool *p);
/* The batch from qcow2_opool_next is ready: work on it. */
void qcow2_opool_submit(struct qcow2_opool *p);
/* The oldest batch submitted, once done (waits); NULL when none is in
 * flight. Give it back with qcow2_opool_release once used. */
void *qcow2_opool_oldest(struct qcow2_opool *p);
void qcow2_opool_release(struct qcow2_opool *p);
/* Stops the threads (work in flight is dropped); the batches stay the
 * caller's. */
void qcow2_opool_free(struct qcow2_opool *p);

#endif
