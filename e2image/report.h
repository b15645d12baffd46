/*
 * --report=json: what a run did, for the user's tools: the capture counted
 * by class of block, what was read and written, the holes, the problems
 * (damaged inodes with the reason), the options, the versions and the
 * time. It takes its figures where the manifest takes them (the plan's
 * block map, the warnings' list, the image digest): the manifest is its
 * compact form. doc/e2image.8 documents every key (REPORT).
 */
#ifndef E2I_REPORT_H
#define E2I_REPORT_H

#include <stdint.h>
#include <time.h>
#include "error.h"
#include "options.h"
#include "sink.h"
#include "stop.h"

#define REPORT_SCHEMA 1

struct plan;

/* What a job knows of its run when it ends. */
struct report_run {
	const struct options *o;
	const struct plan *p;     /* NULL: no filesystem was read (qcow2 -> raw) */
	const char *mode;         /* "raw", "qcow2", "legacy", "qcow2-to-raw" */
	const char *format;       /* the image's format in the manifest's words */
	const struct sink *sink;  /* the output; NULL: never opened */
	uint64_t image_bytes;     /* the raw-equivalent image (0: unknown) */
	uint64_t file_bytes;      /* the output's own length; 0: image_bytes */
	unsigned block_size;      /* of the image's blocks */
	int64_t data_blocks;      /* non-zero blocks of the image; -1: unknown */
	const char *manifest_in_image;  /* qcow2: "full", "compact", "none" */
	/* without a plan: the input, its time and the failure */
	uint64_t input_bytes, input_read;
	time_t when;
	double t0;                /* now_seconds() when the run began */
	const struct e2i_error *err;
	e2i_stop *stop;
};

/* Writes the report of a run that ends with status (0, 1 or 2) where
 * --report asked for it, if it did; returns status, or 1 when the report
 * could not be written (the image, if any, is kept: said in a message). */
int report_write(const struct report_run *r, int status);

#endif
