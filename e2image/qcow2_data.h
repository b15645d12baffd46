/*
 * Sinks for -Q. The image sink hands captured blocks to the qcow2 image
 * writer (lib/qcow2/image.h), which gathers them into clusters, compresses
 * them if asked, and lays out the file. The probe records which captured
 * blocks are not zero: the first of two passes for an uncompressed stream,
 * whose tables come first and depend on it.
 */
#ifndef E2I_QCOW2_DATA_H
#define E2I_QCOW2_DATA_H

#include "blockmap.h"
#include "image.h"
#include "sink.h"

/* Blocks handed to it go into `nonzero` (a map of the same geometry). */
errcode_t probe_sink_new(struct blockmap *nonzero, unsigned blocksize,
			 struct e2i_error *err, struct sink **out);

/* Blocks handed to it go to img; name is the image, for messages. */
errcode_t image_sink_new(struct qcow2_image *img, unsigned blocksize,
			 const char *name, struct e2i_error *err,
			 struct sink **sink);
/* Turns an error of lib/qcow2's image writer into a message in err. */
errcode_t image_error(int e, struct qcow2_image *img, const char *name,
		      struct e2i_error *err);

#endif
