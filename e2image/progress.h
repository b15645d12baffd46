/*
 * Progress on stderr in e2fsprogs' exact words, which GParted parses:
 * "Copying N / M blocks (P%)" rewritten in place, then
 * "Copied N / M blocks (P%) in HH:MM:SS" on the last line.
 */
#ifndef E2I_PROGRESS_H
#define E2I_PROGRESS_H

#include <stdint.h>
#include <time.h>

struct progress {
	int enabled;
	uint64_t total;      /* M: blocks marked, as e2fsprogs counts them */
	unsigned blocksize;
	time_t start, last;
	int width;           /* characters of the last status, to blank out */
};

void progress_scanning(struct progress *p);
void progress_start(struct progress *p, uint64_t total, unsigned blocksize);
/* A copy_opts progress callback: prints at most once a second. */
void progress_update(void *p, uint64_t done);
/* Text shown before the final line (-p prints the manifest there: the
 * "Copied" line stays the last, as GParted expects). */
void progress_note(struct progress *p, const char *text);
void progress_done(struct progress *p, uint64_t done);

#endif
