/* The command line, parsed and checked as e2fsprogs' e2image 1.47 does. */
#ifndef E2I_OPTIONS_H
#define E2I_OPTIONS_H

#include <stdint.h>

struct options {
	int raw;          /* -r */
	int qcow2;        /* -Q */
	int install;      /* -I */
	int scramble;     /* -s */
	int anonymize;    /* --anonymize: 1; --anonymize=uuid: 2 */
	const char *anonymize_map; /* --anonymize-map=FILE */
	int all_data;     /* -a */
	int force;        /* -f */
	int dry_run;      /* -n */
	int progress;     /* -p */
	int check;        /* -c */
	int verbose;      /* -v: what was captured, on stderr */
	int strict;       /* --strict: the first problem in the source is fatal */
	int sync;         /* --sync: wait until the image is on the disk */
	int move;         /* one path and an offset: in-place move */
	uint64_t superblock;   /* -b */
	unsigned blocksize;    /* -B */
	uint64_t src_offset;   /* -o */
	uint64_t dest_offset;  /* -O */
	unsigned qcow2_version;   /* --qcow2-version: 2 (default) or 3 */
	uint64_t cluster_size;    /* --cluster-size; 0: chosen from the size */
	int compress;             /* --compress, -z: QCOW2_COMPRESS_*; -1 none */
	int compress_level;       /* 0: the codec's default */
	unsigned threads;         /* --threads; 0: online CPUs */
	uint64_t compress_buffer; /* --compress-buffer: kept in memory for a stream */
	const char *move_journal; /* --move-journal=FILE */
	int move_abort;           /* --move-abort */
	const char *manifest;     /* --manifest=FILE: the manifest goes there */
	int verify;               /* --verify IMAGE */
	const char *source;       /* --source=DEV: --verify compares with it */
	const char *report;       /* --report=json[:FILE]: FILE; "-": stderr */
	int argc;                 /* the command line as given (getopt_long
				   * reorders argv), for the report; set by main */
	char **argv;
	const char *device;
	const char *image;
};

enum parse_result { PARSE_OK, PARSE_EXIT_OK, PARSE_FAIL };

enum parse_result options_parse(struct options *o, int argc, char **argv);
void usage(int to_stdout);
/* --threads, or the CPUs this process may run on. */
unsigned options_threads(const struct options *o);

#endif
