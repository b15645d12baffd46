/*
 * Problems found on a damaged source. Each is reported once, as it is found,
 * and counted: the summary and the exit status (2: an image with warnings)
 * come from the counts. In strict mode the first problem is fatal, as in
 * e2fsprogs' e2image. Safe to use from the copy threads.
 */
#ifndef E2I_WARN_H
#define E2I_WARN_H

#include <pthread.h>
#include <stdint.h>

enum warn_kind {
	WARN_INODE,     /* an inode's block map could not be fully walked */
	WARN_GROUP,     /* a group's tables are out of range or unreadable */
	WARN_BLOCK,     /* a source block could not be read or is missing:
			 * zero-filled (counted in blocks) */
	WARN_OTHER,     /* orphan list, superblock fields, ... */
	WARN_KINDS
};

#define WARN_NO_SUBJECT UINT64_MAX

struct e2i_warnings {
	pthread_mutex_t lock;
	uint64_t count[WARN_KINDS];
	uint64_t printed;
	int strict;
	/* Prints one message (without prefix or newline). */
	void (*report)(void *arg, const char *msg);
	void *report_arg;
	/* Optional: called with every problem, printed or not, in the
	 * order found, under the lock (the image's manifest lists them);
	 * subject: the inode, group or block it is about, as a number apart
	 * from the (translated) words, or WARN_NO_SUBJECT. */
	void (*record)(void *arg, enum warn_kind k, uint64_t n, uint64_t subject,
		       const char *msg);
	void *record_arg;
};

void warn_init(struct e2i_warnings *w, int strict,
	       void (*report)(void *arg, const char *msg), void *arg);
void warn_destroy(struct e2i_warnings *w);
/* Reports a problem. Returns 1 when it must stop the job: in strict mode,
 * for the errors e2fsprogs' e2image stops at (may_stop). */
int warn(struct e2i_warnings *w, enum warn_kind k, int may_stop,
	 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same for n problems of one kind reported in one message. */
int warn_n(struct e2i_warnings *w, enum warn_kind k, uint64_t n, int may_stop,
	   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same about one inode (WARN_INODE), group (WARN_GROUP) or block
 * (WARN_BLOCK): subject is its number. */
int warn_about(struct e2i_warnings *w, enum warn_kind k, uint64_t subject,
	       int may_stop, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
uint64_t warn_total(struct e2i_warnings *w);

#endif
