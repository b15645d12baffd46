/*
 * -s, as e2fsprogs' e2image does it, so that images compare equal across
 * the two tools: in every block of a directory, in disk order, each name
 * but "." and ".." becomes 'A's of its length, the first letters counting
 * up in base 26 per name length ("AAAA", "BAAA", ... "ZAAA", "ABAA"), and
 * the bytes after each name up to the next entry are zeroed (which also
 * zeroes the hash tree of an indexed directory's first block and the
 * checksum of a block's tail entry: e2fsck then reports them, as on
 * e2fsprogs' image). An entry with a bad record length ends the walk of
 * its block (it is made to span the rest); a bad name length is cut.
 */
#include <stdio.h>
#include <string.h>
#include "nls.h"
#include "scramble.h"

#define PROGRAM_NAME "e2image"

errcode_t scrambler_init(struct scrambler *s, ext2_filsys fs, const char *device)
{
	memset(s, 0, sizeof(*s));
	s->blocksize = fs->blocksize;
	s->fs = fs;
	s->device = device;
	return ext2fs_allocate_block_bitmap(fs, "directory blocks to scramble", &s->dirs);
}

void scrambler_free(struct scrambler *s)
{
	if (s->dirs)
		ext2fs_free_block_bitmap(s->dirs);
	s->dirs = NULL;
}

void scrambler_mark(struct scrambler *s, uint64_t start, uint64_t len)
{
	if (s->dirs && len)
		ext2fs_mark_block_bitmap_range2(s->dirs, start, (unsigned)len);
}

static void scramble_block(struct scrambler *s, uint64_t blk, unsigned char *buf)
{
	unsigned char *p, *end = buf + s->blocksize, *name;
	unsigned rec_len, name_len, id;
	int left;

	for (p = buf; p < end - 8; p += rec_len) {
		struct ext2_dir_entry *d = (struct ext2_dir_entry *)p;

		(void)ext2fs_get_rec_len(s->fs, d, &rec_len);
		if (rec_len < 8 || rec_len % 4 || p + rec_len > end) {
			fprintf(stderr, _("%s: corrupt directory block %llu: bad rec_len (%u)\n"),
				PROGRAM_NAME, (unsigned long long)blk, rec_len);
			rec_len = (unsigned)(end - p);
			(void)ext2fs_set_rec_len(s->fs, rec_len, d);
			continue;
		}
		name_len = p[6];
		if (name_len + 8 > rec_len) {
			fprintf(stderr, _("%s: corrupt directory block %llu: bad name_len (%u)\n"),
				PROGRAM_NAME, (unsigned long long)blk, name_len);
			p[6] = (unsigned char)(rec_len - 8);
			continue;
		}
		name = p + 8;
		if (rec_len - name_len - 8 > 0)
			memset(name + name_len, 0, rec_len - name_len - 8);
		if ((name_len == 1 && name[0] == '.') ||
		    (name_len == 2 && name[0] == '.' && name[1] == '.'))
			continue;
		memset(name, 'A', name_len);
		id = s->name_id[name_len]++;
		for (left = (int)name_len; left > 0 && id > 0; left--, name++) {
			*name += id % 26;
			id /= 26;
		}
	}
}

void scrambler_apply(void *arg, uint64_t blk, uint64_t n, char *buf)
{
	struct scrambler *s = arg;
	uint64_t i;

	for (i = 0; i < n; i++)
		if (ext2fs_test_block_bitmap2(s->dirs, blk + i))
			scramble_block(s, blk + i, (unsigned char *)buf + i * s->blocksize);
}
