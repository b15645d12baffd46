/*
 * What --anonymize did and did not do: the map of old to new (for the
 * reporter to keep; it never goes into the image) and the leak report.
 */
#include <stdio.h>
#include <string.h>
#include "anon.h"
#include "nls.h"

#define PROGRAM "e2image"

/* Bytes as C escapes: a name may hold any byte but '/' and NUL. */
static void quoted(FILE *f, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\')
			fputs("\\\\", f);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], f);
		else
			fprintf(f, "\\%03o", p[i]);
	}
}

void anon_map(struct anonymizer *a, const char *what, ext2_ino_t ino,
	      const void *old, const void *new, size_t len)
{
	if (!a->map)
		return;
	fprintf(a->map, "%s\t%u\t", what, ino);
	quoted(a->map, old, len);
	fputc('\t', a->map);
	quoted(a->map, new, len);
	fputc('\n', a->map);
}

static void line(const char *what, uint64_t n)
{
	if (n)
		fprintf(stderr, "%s:   %s: %llu\n", PROGRAM, what, (unsigned long long)n);
}

void anon_report(const struct anonymizer *a)
{
	const struct anon_counts *n = &a->n;
	const char *mo = (const char *)a->fs->super->s_mount_opts;
	size_t mo_len = strnlen(mo, sizeof(a->fs->super->s_mount_opts));
	uint64_t left = mo_len + n->names_kept_short + n->names_kept_htree +
			n->encrypted_dirs_blocks + n->encrypted_symlinks +
			n->xattrs_kept + n->ea_inode_values + n->bad_block_maps;

	fprintf(stderr, _("%s: anonymized %s: %llu names (%llu in hash-indexed "
			  "directories), %llu symlink targets, %llu xattrs, %llu "
			  "inline files zeroed, %llu deleted entries zeroed, %llu "
			  "journal blocks zeroed\n"),
		PROGRAM, a->device, (unsigned long long)n->names,
		(unsigned long long)n->names_htree, (unsigned long long)n->symlinks,
		(unsigned long long)n->xattrs, (unsigned long long)n->inline_files,
		(unsigned long long)n->deleted_entries,
		(unsigned long long)n->journal_blocks);
	if (n->label)
		fprintf(stderr, _("%s: the label was replaced\n"), PROGRAM);
	if (n->last_mounted)
		fprintf(stderr, _("%s: the last-mounted path was replaced\n"), PROGRAM);
	if (n->mmp)
		fprintf(stderr, _("%s: the MMP node and device names were replaced\n"),
			PROGRAM);
	if (a->uuid_mapped)
		fprintf(stderr, _("%s: new UUID %s (the old one is in the map only)\n"),
			PROGRAM, a->new_text);
	if (n->bad_dir_blocks || n->xattr_bad)
		fprintf(stderr, _("%s: damaged structures: %llu directory entries and "
				  "%llu xattr entries could not be parsed; the bytes "
				  "after the damage are zeroed\n"), PROGRAM,
			(unsigned long long)n->bad_dir_blocks,
			(unsigned long long)n->xattr_bad);
	if (n->meta_claimed)
		fprintf(stderr, _("%s: %llu filesystem metadata blocks (descriptors, "
				  "bitmaps, journal...) that damaged inodes claim as "
				  "directory, symlink or xattr blocks were copied as "
				  "that metadata\n"), PROGRAM,
			(unsigned long long)n->meta_claimed);
	if (!left) {
		fprintf(stderr, _("%s: nothing was left unscrubbed\n"), PROGRAM);
		return;
	}
	fprintf(stderr, _("%s: NOT scrubbed (the image still holds these):\n"), PROGRAM);
	line(_("names kept: no other name of their length is left in their directory"),
	     n->names_kept_short);
	line(_("names kept: no other name of their length hashes into their hash-tree leaf"),
	     n->names_kept_htree);
	line(_("blocks of encrypted directories (names are ciphertext, left as they are)"),
	     n->encrypted_dirs_blocks);
	line(_("encrypted symlinks (ciphertext, left as they are)"), n->encrypted_symlinks);
	line(_("xattr names kept (too many of one length in one inode or block)"),
	     n->xattrs_kept);
	line(_("xattrs whose value lives in an EA inode (not in the image; the entry's name kept)"),
	     n->ea_inode_values);
	line(_("damaged inodes whose block map holds bytes that are no block numbers "
	       "(e.g. inline data left after the inline-data flag was cleared; kept: "
	       "e2fsck prints them)"), n->bad_block_maps);
	line(_("bytes of default mount options in the superblock (tune2fs -E mount_opts=; kept for analysis)"),
	     mo_len);
}
