/*
 * -p: progress on stderr in e2fsprogs' words, which GParted parses (it
 * reads stderr through a pipe, takes the text after the last newline and
 * scans "Copying %lld / %lld blocks"; it stops its bar on "\nCopied "):
 *
 *   Scanning inodes...                        (a phase: a line of its own)
 *   Copying N / M blocks (P%)[ HH:MM:SS remaining at R MB/s]
 *   Copied N / M blocks (P%) in HH:MM:SS[ at R MB/s]
 *
 * M is the number of blocks the run copies, so the last line says M / M
 * (100%). On a terminal the "Copying" status is rewritten in place after
 * \r once a second. Elsewhere (a pipe, a log file) each status is a line
 * of its own, written at most once a second, when the percentage has
 * changed or a minute has passed; the newline goes before a status, not
 * after it, so that the text after the last newline is always the latest
 * status, as GParted reads it. Nothing ever goes to stdout.
 */
#ifndef E2I_PROGRESS_H
#define E2I_PROGRESS_H

#include <stdint.h>

struct progress {
	int enabled;
	int tty;             /* stderr is a terminal: statuses after \r */
	int checking;        /* --verify: "Checking"/"Checked", not copying */
	int open;            /* a status is out without its newline */
	uint64_t total;      /* M */
	uint64_t base;       /* done when the count started (a resumed move) */
	unsigned blocksize;
	double start;        /* monotonic seconds */
	double due;          /* no status before this time */
	double last_line;    /* when the last status line was written */
	int last_pct;
	int width;           /* characters of the last status, to blank out */
};

/* Enabled by -p; looks at stderr once. */
void progress_init(struct progress *p, int enabled);
/* A phase before (or between) counts, "Scanning inodes..." for one: the
 * text, translated, on a line of its own. */
void progress_phase(struct progress *p, const char *text);
/* A count of total blocks of blocksize bytes, from 0 (or from done, for
 * work resumed: the rate counts what this run does). */
void progress_start(struct progress *p, uint64_t total, unsigned blocksize);
void progress_start_from(struct progress *p, uint64_t done, uint64_t total,
			 unsigned blocksize);
/* A copy_opts progress callback: done blocks so far. Costs one coarse
 * clock read when no status is due. */
void progress_update(void *p, uint64_t done);
/* Before other text on stderr (a warning, an error): ends the status
 * line so that the text starts a line of its own. */
void progress_break(struct progress *p);
/* Text shown before the final line (-p prints the manifest there: the
 * "Copied" line stays the last, as GParted expects). */
void progress_note(struct progress *p, const char *text);
/* The final "Copied N / M" line. */
void progress_done(struct progress *p, uint64_t done);

#endif
