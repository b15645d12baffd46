/*
 * --anonymize: every name and private byte of the metadata is replaced as
 * the blocks go to the image, keeping the filesystem valid (same lengths,
 * htree hash ranges, checksums recomputed with libext2fs). The source is
 * never written: only the copy engine's buffers are changed.
 */
#ifndef E2I_ANON_H
#define E2I_ANON_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <ext2fs/ext2fs.h>
#include "blockclass.h"

/* A content block of an inode, as the capture told it. */
struct anon_blk {
	uint64_t pblk;
	uint32_t ino;
	uint32_t lblk;   /* of pblk; 0xffffffff: an xattr block */
	uint32_t n;      /* blocks in the run */
	uint32_t flags;  /* the owner's i_flags */
	uint8_t cls;     /* enum block_class */
};

/* A directory (or symlink) inode's state while its blocks go by. */
struct anon_dir {
	uint32_t ino;
	uint32_t flags;          /* i_flags */
	uint16_t mode;
	uint8_t htree;           /* its tree was read: its nodes and leaves known */
	uint32_t next[5];        /* name counters: [1..4] by length, [0] longer */
	uint32_t held[5];        /* [1..4]: 1 + a name skipped as an entry's own, for the next */
};

/* An htree block: a leaf whose new names were chosen before the copy
 * (off, len: its names one after another in names, in entry order), or an
 * index node (off == ANON_NODE). */
struct anon_leaf {
	uint64_t pblk;
	size_t off, len;
};
#define ANON_NODE ((size_t)-1)

/* A group's inode table, for finding the inodes of a block. */
struct anon_itable {
	uint64_t start;
	dgrp_t group;
};

/* What could not be scrubbed, and what was done, for the report. */
struct anon_counts {
	uint64_t names, names_htree, names_kept_short, names_kept_htree;
	uint64_t encrypted_names, encrypted_dirs_blocks;
	uint64_t bad_dir_blocks, deleted_entries, inline_dirs;
	uint64_t symlinks, encrypted_symlinks, inline_files;
	uint64_t xattrs, xattrs_kept, xattr_bad, ea_inode_values;
	uint64_t journal_blocks;
	uint64_t meta_claimed;   /* metadata blocks an inode claims as content */
	uint64_t bad_block_maps; /* block maps holding no block numbers */
	int journal_was_dirty, label, last_mounted, mmp;
};

/* A block of group descriptors (--anonymize=uuid on gdt_csum). */
struct anon_desc {
	uint64_t blk;
	dgrp_t first;            /* the first group it describes */
};

struct anonymizer {
	ext2_filsys fs;
	unsigned blocksize;
	const char *device;
	/* Content blocks, sorted by pblk once the capture is done. */
	struct anon_blk *blks;
	size_t nblks, capblks;
	/* Extent tree nodes, sorted once the capture is done. */
	uint64_t *enodes;
	size_t nenodes, capenodes;
	/* Directories and symlinks met, sorted by inode number. */
	struct anon_dir *dirs;
	size_t ndirs, capdirs;
	/* htree leaves, sorted by pblk, and their new names. */
	struct anon_leaf *leaves;
	size_t nleaves, capleaves;
	char *names;
	size_t names_len, names_cap;
	struct anon_itable *itables;  /* sorted by start */
	size_t nitables;
	/* While a precomputed htree leaf is rewritten: its next new name. */
	const char *cur, *cur_end;
	blk64_t journal_sb;      /* the journal's superblock, 0: none */
	int journal_dirty;       /* it needed recovery: the image's will not */
	uint32_t xattr_id;       /* xattr name counter */
	FILE *map;               /* --anonymize-map, or NULL */
	const char *map_path;    /* its name, and the temporary one written */
	char *map_tmp;
	int map_placed;          /* renamed into place: a later failure removes it */
	unsigned mapped;         /* superblock fields mapped already (bits) */
	unsigned char *scratch;  /* a block: which bytes an xattr area uses */
	unsigned char *before;   /* a block as it was, for its checksum */
	unsigned char *delta;    /* a block: the change it went through */
	errcode_t err;           /* first allocation failure in the hook */
	/* --anonymize=uuid */
	int uuid;
	unsigned char old_uuid[16], new_uuid[16];
	char old_text[40], new_text[40];
	int uuid_mapped;
	ext2_filsys dup;         /* gdt_csum: a handle to checksum descriptors */
	struct anon_desc *descs; /* gdt_csum: every descriptor block, by blk */
	size_t ndescs;
	struct anon_counts n;
};

/* uuid: --anonymize=uuid, a new UUID too. */
errcode_t anon_init(struct anonymizer *a, ext2_filsys fs, const char *device,
		    int uuid);
void anon_free(struct anonymizer *a);
/* The capture's on_owned hook. */
void anon_owned(void *arg, ext2_ino_t ino, const struct ext2_inode *inode,
		enum block_class c, e2_blkcnt_t lblk, uint64_t pblk, uint64_t n);
/* After the capture: sorts the tables and chooses the htree names (reads
 * the htree directories' blocks). */
errcode_t anon_prepare(struct anonymizer *a);
/* The copy engine's transform: blocks in ascending order, once each. */
void anon_apply(void *arg, uint64_t blk, uint64_t n, char *buf);
/* What anon_apply zeroes whole, zeroed, and nothing else changed. */
void anon_blank(void *arg, uint64_t blk, uint64_t n, char *buf);
/* A stretch of the stream a checksum covers: len bytes at off in the
 * block, or len zero bytes (off ANON_SPAN_ZERO). */
struct anon_span {
	unsigned off, len;
};
#define ANON_SPAN_ZERO UINT_MAX
/* The checksum of after over the spans, from stored, that of before
 * (anon_csum.c); scratch holds the spans' length. */
uint32_t anon_csum_moved(uint32_t stored, const unsigned char *before,
			 const unsigned char *after, const struct anon_span *s,
			 unsigned n, unsigned char *scratch);
/* A directory block's checksum after its rewrite, from before's. */
void anon_dir_csum(struct anonymizer *a, ext2_ino_t ino,
		   const unsigned char *before, unsigned char *after);
/* An inode's (isize bytes), likewise. */
void anon_inode_csum(struct anonymizer *a, ext2_ino_t ino, const unsigned char *before,
		     unsigned char *after, unsigned isize);
/* The leak report, on stderr. */
void anon_report(const struct anonymizer *a);

/* Room for n + 1 items of size bytes at *p (capacity *cap); 0: no memory. */
int anon_grow(void **p, size_t *cap, size_t n, size_t size);

/* Parts (anon_*.c). */
struct anon_dir *anon_dir_of(struct anonymizer *a, ext2_ino_t ino);
const struct anon_blk *anon_blk_at(const struct anonymizer *a, uint64_t pblk);
/* A new name of len bytes for the next entry of d, written to out; 0 when
 * none is left (the name is then kept). old: the name it replaces. */
int anon_next_name(struct anonymizer *a, struct anon_dir *d, const char *old,
		   unsigned len, char *out);
/* The k-th name of len bytes over the directory's alphabet; 0 past the end.
 * Names grow in memcmp order with k when big_endian. */
int anon_name_k(uint64_t k, unsigned len, int casefold, int big_endian,
		char *out);
/* How many names of len bytes the nice alphabet gives (anon_name_inc
 * steps through those only). */
uint64_t anon_nice_names(unsigned len, int casefold);
/* The next name after name (that of k + 1); 0 past the last one. */
int anon_name_inc(char *name, unsigned len, int casefold);
int anon_casefold(const struct anonymizer *a, uint32_t flags);
/* Encrypted (the flag, on a filesystem with the encrypt feature). */
int anon_encrypted(const struct anonymizer *a, uint32_t flags);
/* True for the names that stay: ".", "..", and the root's lost+found. */
int anon_keeps(const struct anon_dir *d, const unsigned char *name, unsigned len);
/* Replaces one live entry's name (the next precomputed one when a->cur). */
void anon_rename(struct anonymizer *a, struct anon_dir *d, unsigned char *name,
		 unsigned len);
void anon_dir_block(struct anonymizer *a, uint64_t blk, const struct anon_blk *b,
		    unsigned char *buf);
void anon_entries(struct anonymizer *a, struct anon_dir *d, unsigned char *p,
		  unsigned len, int inline_dir);
/* Rewrites the inodes of blk when it is part of an inode table; 0 if not. */
int anon_inode_table(struct anonymizer *a, uint64_t blk, unsigned char *buf);
errcode_t anon_itables_init(struct anonymizer *a);
int anon_inode_table_block(const struct anonymizer *a, uint64_t blk);
void anon_symlink_block(struct anonymizer *a, const struct anon_blk *b,
			unsigned char *buf);
void anon_journal_prepare(struct anonymizer *a);
void anon_xattr_block(struct anonymizer *a, uint64_t blk, const struct anon_blk *b,
		      unsigned char *buf);
/* In-inode xattrs of inode ino (raw, disk order) whose dir state is d
 * (NULL for other inodes). */
void anon_xattr_ibody(struct anonymizer *a, ext2_ino_t ino, struct anon_dir *d,
		      unsigned char *inode, unsigned isize);
/* True when the inode body holds no attributes and nothing else either:
 * anon_xattr_ibody would change nothing. */
int anon_ibody_untouched(unsigned char *inode, unsigned isize);
void anon_symlink_text(struct anonymizer *a, ext2_ino_t ino, unsigned char *p,
		       size_t len);
void anon_super(struct anonymizer *a, unsigned char *sb);
void anon_mmp(struct anonymizer *a, unsigned char *blk);
void anon_journal(struct anonymizer *a, uint64_t blk, unsigned char *buf);
/* True when anon_journal zeroes the whole block. */
int anon_journal_zeroes(const struct anonymizer *a, uint64_t blk,
			const unsigned char *buf);
errcode_t anon_htree(struct anonymizer *a);
/* Takes the filesystem's metadata blocks out of the content runs
 * (anon_meta.c); before they are sorted. */
errcode_t anon_meta_trim(struct anonymizer *a);
errcode_t anon_uuid_init(struct anonymizer *a);
void anon_uuid_free(struct anonymizer *a);
void anon_uuid_super(struct anonymizer *a, struct ext2_super_block *sb);
const struct anon_desc *anon_desc_at(const struct anonymizer *a, uint64_t blk);
void anon_uuid_descs(struct anonymizer *a, const struct anon_desc *d,
		     unsigned char *buf);
/* --anonymize-map=path (anon_mapfile.c): open under a temporary name;
 * commit renames it into place (the error set in err); discard removes
 * it. Open prints its own messages. */
struct e2i_error;
int anon_map_open(struct anonymizer *a, const char *path, const char *device,
		  const char *image);
errcode_t anon_map_commit(struct anonymizer *a, struct e2i_error *err);
void anon_map_discard(struct anonymizer *a);
/* A run that failed: discard, and remove the map put in place already. */
void anon_map_failed(struct anonymizer *a);
/* --anonymize-map: one line, "what<TAB>owner<TAB>old<TAB>new". */
void anon_map(struct anonymizer *a, const char *what, ext2_ino_t ino,
	      const void *old, const void *new, size_t len);

#endif
