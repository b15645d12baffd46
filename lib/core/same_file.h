/* Refusing to write over the source under another name. */
#ifndef E2I_SAME_FILE_H
#define E2I_SAME_FILE_H

/* 1 when a and b name the same file or device, or one is a loop device
 * backed by the other; "-" is never the same as anything. */
int same_storage(const char *a, const char *b);

/* 1 when a and b are one file, existing or not (a missing file's
 * directory is resolved, its last component compared as given); "-" is
 * never the same as anything. */
int same_path(const char *a, const char *b);

#endif
