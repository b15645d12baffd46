/*
 * --verify reads every image as raw: a raw file as it is (the filesystem
 * at the manifest's dest-offset), a qcow2 file expanded into an unnamed
 * sparse temporary file by the validating reader, its data clusters only.
 * The qcow2 header's manifest is picked up on the way.
 */
#ifndef E2I_VERIFY_VIEW_H
#define E2I_VERIFY_VIEW_H

#include <stdint.h>
#include "stop.h"

struct vview {
	int fd;             /* the raw bytes; -1: none */
	uint64_t size;      /* bytes in it */
	int qcow2;
	char *ext;          /* qcow2: the manifest extension (NUL added), or NULL */
	char path[64];      /* a name libext2fs can open it by */
};

/* Opens image; 0, or 1 after printing why. */
int vview_open(struct vview *v, const char *image, uint32_t ext_type,
	       e2i_stop *stop);
void vview_close(struct vview *v);

#endif
