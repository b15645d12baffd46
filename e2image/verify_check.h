/* --verify: the state of one run, and the checks that need libext2fs. */
#ifndef E2I_VERIFY_CHECK_H
#define E2I_VERIFY_CHECK_H

#include <stdint.h>
#include "options.h"
#include "progress.h"
#include "stop.h"
#include "verify_manifest.h"
#include "verify_view.h"

/* A captured extent and why it was captured. */
struct vext {
	uint64_t start, len;
	int c;
};

struct verify {
	const struct options *o;
	e2i_stop *stop;
	struct progress prog;   /* -p: "Checking N / M blocks" */
	struct vview view;
	struct vmanifest man;
	uint64_t base;          /* the filesystem's first byte in the view */
	int failed;             /* could not check: exit 1 with a message */
	int altered;            /* the digest differs */
	int digest_ok;          /* the digest was checked and matches */
	uint64_t nstruct;       /* of nbad, found by verify_structure */
	uint64_t nbad, first_blk;
	int first_class;        /* -1: look it up in ext */
	const char *first_what;
	struct vext *ext;       /* the image's capture, for class names */
	size_t next, capext;
};

/* Block blk is missing or altered (cls -1: unknown yet). */
void verify_bad(struct verify *v, uint64_t blk, int cls, const char *what);
/* The first bad block's class, by name. */
const char *verify_class_name(struct verify *v);
/* Opens the view with libext2fs and checks that what its metadata names
 * holds something: the blocks that are never zeros in a filesystem
 * (superblock, descriptors, directories, extent tree nodes, symlinks,
 * xattr blocks), and the inode table blocks of inodes in use. */
void verify_structure(struct verify *v);
/* The source's captured blocks, compared with the image's. */
void verify_source(struct verify *v);
void verify_check_free(struct verify *v);

#endif
