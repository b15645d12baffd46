/*
 * The journal of a crash-safe in-place move: a small file, on another
 * device than the one being moved, that says which blocks move where, how
 * many of them are done, and, while a piece of the move overwrites its own
 * source, that piece's bytes. Every change is on the disk (fdatasync)
 * before the move goes on, so after a crash or a power loss the same
 * command finishes the move, or --move-abort puts everything back.
 *
 * Layout (all integers little-endian):
 *   0, 4096   two copies of the header, written in turn with a sequence
 *             number and a CRC: the newer valid one counts, so a header
 *             torn by a power loss leaves the other;
 *   8192      the runs to move (start, length: 2 x 64 bits each), CRC'd;
 *   after     the record: the pieces of the move in flight (block, count)
 *             and their bytes, CRC'd, valid for the header's done count.
 */
#ifndef E2I_MOVE_JOURNAL_H
#define E2I_MOVE_JOURNAL_H

#include <stdint.h>
#include "blockmap.h"
#include "copy.h"
#include "error.h"

enum mj_state { MJ_MOVING = 1, MJ_ABORTING = 2 };

struct mj_params {
	uint64_t src_off, dst_off;   /* bytes: where the filesystem is, goes */
	uint32_t blocksize;
	uint64_t fs_blocks, first_data_block;
	uint32_t cluster_bits;
	uint64_t dev, ino, rdev;     /* the device or file moved in */
};

struct move_journal {
	int fd;
	char *path;
	struct mj_params p;
	enum mj_state state;
	uint64_t captured;    /* blocks to move */
	uint64_t moved;       /* aborting: blocks the move had done */
	uint64_t done;        /* blocks done in this phase, in its order */
	uint64_t seq;         /* of the newer header */
	uint64_t nruns;
	uint32_t runs_crc;
	uint64_t rec_off;     /* where the record goes */
	uint64_t rec_len;     /* 0: no record */
	uint32_t rec_crc;
	struct e2i_error *err;
};

/* A new journal at path (refused if it exists) holding m's runs. */
errcode_t mj_create(const char *path, const struct mj_params *p,
		    const struct blockmap *m, struct e2i_error *err,
		    struct move_journal **out);
/* An existing one; ENOENT when there is none. */
errcode_t mj_open(const char *path, struct e2i_error *err,
		  struct move_journal **out);
/* The runs, as a finished block map (the first `first` blocks in the
 * moving order only, when first is not UINT64_MAX). */
errcode_t mj_runs(struct move_journal *j, uint64_t first, struct blockmap *m);
/* Records done (and no record), durably. */
errcode_t mj_set_done(struct move_journal *j, uint64_t done);
/* Records the piece in flight at the current done count, durably. */
errcode_t mj_set_record(struct move_journal *j, const struct copy_seg *segs,
			size_t nsegs, const void *data);
/* Reads a valid record (malloc'd; *nsegs 0 when there is none). */
errcode_t mj_get_record(struct move_journal *j, struct copy_seg **segs,
			size_t *nsegs, void **data);
/* Turns to undoing the move: moved = the blocks done, done = 0. */
errcode_t mj_start_abort(struct move_journal *j);
/* The move is over: the journal is removed (and its directory synced). */
errcode_t mj_remove(struct move_journal *j);
void mj_close(struct move_journal *j);

#endif
