/* --verify: the manifest an image is checked against, found and read. */
#ifndef E2I_VERIFY_MANIFEST_H
#define E2I_VERIFY_MANIFEST_H

#include <stdint.h>

struct vmanifest {
	char *text;              /* the whole, NUL-terminated */
	const char *where;       /* "the qcow2 header" or the file's name */
	int compact;
	unsigned blocksize;
	uint64_t blocks, image_bytes, dest_offset, src_offset, superblock;
	uint64_t problems, captured;
	char digest[65];         /* empty: none recorded */
	const char *no_digest;   /* the reason given, inside text */
	int names_kept;
	int all_data;            /* captured with -a */          /* the names are the source's (no -s etc.) */
};

/* Reads and checks it: its own checksum, and the keys --verify needs.
 * Returns 0, or 1 with a message in why. */
int vmanifest_parse(struct vmanifest *m, char *text, const char *where,
		    char *why, size_t whylen);
void vmanifest_free(struct vmanifest *m);

#endif
