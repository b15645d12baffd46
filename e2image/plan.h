/*
 * A plan: the source opened read-only and the blocks worth keeping found,
 * ready for a job (raw, qcow2) to write them out.
 */
#ifndef E2I_PLAN_H
#define E2I_PLAN_H

#include "stop.h"
#include "blockmap.h"
#include "capture.h"
#include "copy.h"
#include "options.h"
#include "progress.h"
#include "sink.h"
#include "source.h"
#include "summary.h"
#include "warn.h"
#include "scramble.h"
#include "anon.h"
#include "manifest.h"
#include "report.h"

struct plan {
	const struct options *o;
	e2i_stop *stop;
	ext2_filsys fs;
	struct source src;
	/* Every block worth keeping. */
	struct blockmap blocks;
	enum sink_kind kind;   /* what the output path is now */
	int is_blockdev;
	struct progress prog;
	struct e2i_error err;
	uint64_t ra_budget;
	uint64_t ra_start, ra_end;   /* early readahead not yet requested */
	struct summary sum;
	struct e2i_warnings warn;  /* damage found in the source */
	blk64_t backup_sb;  /* -b, or the backup opened for a damaged primary */
	struct scrambler scr;
	struct scrambler *scramble;  /* -s: &scr, directory blocks noted there */
	struct anonymizer anonymizer;
	struct anonymizer *anon;     /* --anonymize: &anonymizer */
	double t0;         /* now_seconds() when the run began */
	struct manifest man;
	char *man_text;    /* the manifest, once the copy is done */
	int man_placed;    /* --manifest FILE written by this run */
};

/* Refusals, mount check, opening the filesystem and the source. Prints its
 * own messages; returns 1 on success. */
int plan_open(struct plan *p, const struct options *o,
	      e2i_stop *stop);
/* The sink parameters the options give for their output, in units of
 * blocksize bytes, blocks of them. */
void sink_params_for(const struct options *o, unsigned blocksize,
		     uint64_t blocks, struct e2i_error *err, e2i_stop *stop,
		     struct sink_params *sp);
/* Opens the output the options name, with their sink options, in units of
 * blocksize bytes, blocks of them; prints its own message on failure. */
int plan_open_sink(struct plan *p, unsigned blocksize, uint64_t blocks,
		   struct sink **out);
/* After the last block is copied, before the output is made final: what
 * goes with the image is made final first (the --anonymize map), so a
 * failure there leaves no image either. */
errcode_t plan_copy_done(struct plan *p);
/* Whether the run makes a manifest (and shows it with -p). */
int plan_wants_manifest(const struct plan *p);
/* Why the run's manifest or report has no digest, or NULL. */
const char *plan_skips_digest(const struct plan *p);
/* Whether the job feeds the image digest: for a manifest or a report. */
int plan_wants_digest(const struct plan *p);
/* The image digest set up for a copy: fed in co's stream. */
void plan_digest_copy(struct plan *p, struct copy_opts *co);
/* The manifest of the finished copy into p->man_text; 0 or ENOMEM. */
errcode_t plan_make_manifest(struct plan *p, const char *format, int compact);
/* -s, --anonymize: the rewrite of a copy whose bytes go to the image. */
void plan_transform_copy(const struct plan *p, struct copy_opts *co);
/* Finds the blocks. */
int plan_capture(struct plan *p);
/* The exit status: 1 when the job failed, 2 when it wrote an image with
 * warnings (said in a last line), 0 otherwise. */
int plan_status(struct plan *p, int ok);
/* --report: r's fields the job knows set (mode, format, sink, ...), the
 * rest taken from the plan; returns status, or 1 if the report failed. */
int plan_report(struct plan *p, struct report_run *r, int status);
void plan_close(struct plan *p);

double now_seconds(void);

#endif
