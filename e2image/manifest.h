/*
 * The manifest every image carries: what was imaged, how, what went wrong,
 * and the image digest (lib/core/digest.h). Text, one "key: value" per
 * line, keys in a fixed order, ending with the SHA-256 of the lines before
 * it, so an edited manifest is noticed (an accident, not a forger: anyone
 * can recompute it). The same filesystem and options give the same text
 * but for the time line. doc/e2image.8 lists the keys.
 */
#ifndef E2I_MANIFEST_H
#define E2I_MANIFEST_H

#include <stdint.h>
#include <time.h>
#include <nettle/sha2.h>
#include "digest.h"
#include "warn.h"

/* Problems listed one per line; past this, counted and hashed. */
#define MANIFEST_MAX_PROBLEMS 32
/* Problems kept in memory, for --report, which lists more. */
#define MANIFEST_KEPT_PROBLEMS 1000
#define MANIFEST_VERSION "1"
/* The qcow2 header extension type that holds it: "e2iM", a value no qemu
 * extension uses (qemu's are 0xe2792aca, 0x6803f857, 0x23852875,
 * 0x0537be77, 0x44415441). */
#define MANIFEST_QCOW2_EXT 0x6532694du

/* One problem, as the warnings recorded it. */
struct manifest_problem {
	enum warn_kind kind;
	uint64_t n;                 /* blocks, inodes... it counts for */
	uint64_t subject;           /* its inode, group or block, or WARN_NO_SUBJECT */
	char *msg;                  /* NULL: no memory for it */
};

struct manifest {
	time_t when;
	struct image_digest digest;
	int digest_used;            /* the copy fed it */
	const char *no_digest;      /* why none: NULL when digest_used */
	struct manifest_problem *problems;  /* the first MANIFEST_KEPT_PROBLEMS */
	size_t kept;                /* in problems */
	uint64_t nproblems;         /* all of them, kept or not */
	struct sha256_ctx problems_hash;
};

struct plan;

/* Starts one; its problem list follows w from now on. */
void manifest_init(struct manifest *m, struct e2i_warnings *w);
void manifest_free(struct manifest *m);
/* The text (malloc'd, NUL-terminated) for the plan's capture written as
 * format ("raw", "qcow2", "qcow2 zlib", ...). compact: only what --verify
 * needs, for a qcow2 header cluster too small for the whole. */
char *manifest_text(struct manifest *m, const struct plan *p,
		    const char *format, int compact);
/* A UUID's 16 bytes as text (36 characters and a NUL). */
void manifest_uuid(const unsigned char u[16], char out[37]);
/* The time a run records: now, or SOURCE_DATE_EPOCH when set. */
time_t manifest_now(void);
/* Writes text to path (beside it first, then renamed); 0 or an errno. */
int manifest_write_file(const char *path, const char *text);

#endif
