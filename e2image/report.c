#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <et/com_err.h>
#include "config.h"
#include "json.h"
#include "messages.h"
#include "nls.h"
#include "plan.h"
#include "qcow2/compress.h"
#include "report.h"

static void add_versions(struct json *j)
{
	const char *ver = "?", *date = "?";

	json_object(j, "tool");
	json_str(j, "name", "e2image-ng");
	json_str(j, "version", PACKAGE_VERSION);
	json_close(j);
	ext2fs_get_library_version(&ver, &date);
	json_object(j, "libext2fs");
	json_str(j, "version", ver);
	json_str(j, "date", date);
	json_close(j);
}

static void add_command(struct json *j, const struct options *o)
{
	int i;

	json_array(j, "command");
	for (i = 0; i < o->argc; i++)
		json_str(j, NULL, o->argv[i]);
	json_close(j);
}

static void u64_or_null(struct json *j, const char *key, uint64_t v)
{
	if (v)
		json_u64(j, key, v);
	else
		json_null(j, key);
}

static const char *names_mode(const struct options *o)
{
	if (o->scramble)
		return "scrambled";
	if (o->anonymize)
		return o->anonymize == 2 ? "anonymized-uuid" : "anonymized";
	return "kept";
}

static void add_options(struct json *j, const struct options *o)
{
	json_object(j, "options");
	json_bool(j, "all_data", o->all_data);
	json_str(j, "names", names_mode(o));
	u64_or_null(j, "superblock", o->superblock);
	u64_or_null(j, "blocksize", o->blocksize);
	json_u64(j, "src_offset", o->src_offset);
	json_u64(j, "dest_offset", o->dest_offset);
	json_bool(j, "check", o->check);
	json_bool(j, "dry_run", o->dry_run);
	json_bool(j, "force", o->force);
	json_bool(j, "strict", o->strict);
	json_bool(j, "sync", o->sync);
	json_bool(j, "progress", o->progress);
	json_bool(j, "verbose", o->verbose);
	if (o->qcow2) {
		json_u64(j, "qcow2_version", o->qcow2_version);
		u64_or_null(j, "cluster_size", o->cluster_size);
	} else {
		json_null(j, "qcow2_version");
		json_null(j, "cluster_size");
	}
	if (o->compress >= 0) {
		json_object(j, "compress");
		json_str(j, "type", qcow2_codec_name(o->compress));
		json_int(j, "level", o->compress_level);
		json_close(j);
	} else {
		json_null(j, "compress");
	}
	json_u64(j, "threads", options_threads(o));
	json_path(j, "manifest", o->manifest);
	json_path(j, "anonymize_map", o->anonymize_map);
	json_path(j, "report", o->report);
	json_close(j);
}

static void add_times(struct json *j, const struct report_run *r, time_t when)
{
	const struct plan *p = r->p;
	char iso[32];
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_str(j, "started", iso);
	json_seconds(j, "elapsed_seconds", now_seconds() - (p ? p->t0 : r->t0));
	if (p) {
		json_seconds(j, "capture_seconds", p->sum.t_capture);
		json_seconds(j, "copy_seconds", p->sum.t_copy);
	} else {
		json_null(j, "capture_seconds");
		json_null(j, "copy_seconds");
	}
}

static void add_outcome(struct json *j, const struct report_run *r, int status)
{
	const struct e2i_error *err = r->p ? &r->p->err : r->err;
	e2i_stop *stop = r->p ? r->p->stop : r->stop;
	char *msg = NULL;

	json_str(j, "outcome", status == 0 ? "complete" :
		 status == 2 ? "incomplete" : "failed");
	/* a stopped run ends by its signal, as the shell then sees it */
	json_int(j, "exit_status", stopped(stop) ? 128 + (int)*stop : status);
	if (stopped(stop))
		json_int(j, "signal", (int)*stop);
	else
		json_null(j, "signal");
	/* the words msg_err printed; a failure recorded nowhere else is
	 * only on stderr */
	if (status == 1 && err && err->code &&
	    asprintf(&msg, "%s %s", error_message(err->code), err->what) < 0)
		msg = NULL;
	json_str(j, "error", msg);
	free(msg);
}

static void add_source(struct json *j, const struct report_run *r)
{
	const struct plan *p = r->p;

	json_object(j, "source");
	json_path(j, "path", r->o->device);
	json_str(j, "kind", p ? "filesystem" : "qcow2");
	json_u64(j, "bytes", p ? p->src.size : r->input_bytes);
	json_u64(j, "offset", r->o->src_offset);
	json_close(j);
}

static void add_filesystem(struct json *j, const struct plan *p)
{
	struct ext2_super_block *sb;
	char uuid[37];

	if (!p || !p->fs) {
		json_null(j, "filesystem");
		return;
	}
	sb = p->fs->super;
	json_object(j, "filesystem");
	manifest_uuid(sb->s_uuid, uuid);
	/* what --anonymize=uuid hides is not written next to the image */
	json_str(j, "uuid", p->o->anonymize == 2 ? NULL : uuid);
	json_u64(j, "block_size", p->fs->blocksize);
	json_u64(j, "blocks", ext2fs_blocks_count(sb));
	json_u64(j, "inodes", sb->s_inodes_count);
	json_u64(j, "groups", p->fs->group_desc_count);
	json_object(j, "features");
	json_u64(j, "compat", sb->s_feature_compat);
	json_u64(j, "incompat", sb->s_feature_incompat);
	json_u64(j, "ro_compat", sb->s_feature_ro_compat);
	json_close(j);
	json_u64(j, "superblock", p->o->superblock ? p->o->superblock : p->backup_sb);
	json_u64(j, "inodes_scanned", p->sum.inodes_scanned);
	json_u64(j, "orphans", p->sum.orphans);
	json_close(j);
}

/* "group descriptors" -> "group_descriptors" */
static void class_key(enum block_class c, char *key, size_t len)
{
	size_t i;

	snprintf(key, len, "%s", block_class_name(c));
	for (i = 0; key[i]; i++)
		if (key[i] == ' ')
			key[i] = '_';
}

static void add_captured(struct json *j, const struct report_run *r)
{
	const struct summary *s = r->p ? &r->p->sum : NULL;
	char key[64];
	int c;

	if (!s || !s->blocksize) {
		json_null(j, "captured");
		return;
	}
	json_object(j, "captured");
	json_u64(j, "blocks", s->captured);
	json_u64(j, "bytes", s->captured * s->blocksize);
	json_u64(j, "runs", s->nruns);
	if (r->data_blocks >= 0 && (uint64_t)r->data_blocks <= s->captured &&
	    r->block_size == s->blocksize)
		json_u64(j, "zero_blocks", s->captured - (uint64_t)r->data_blocks);
	else
		json_null(j, "zero_blocks");
	json_object(j, "classes");
	for (c = 0; c < BC_COUNT; c++) {
		class_key(c, key, sizeof(key));
		json_u64(j, key, s->per_class[c]);
	}
	json_close(j);
	json_close(j);
}

static void add_digest(struct json *j, const struct report_run *r)
{
	const struct plan *p = r->p;
	struct image_digest d;
	unsigned char sum[IMAGE_DIGEST_BYTES];
	char hex[65];

	if (p && p->man.digest_used && r->data_blocks >= 0) {
		d = p->man.digest;   /* digest_final ends its copy */
		if (digest_final(&d, r->image_bytes, sum) == 0) {
			digest_hex(sum, hex);
			json_str(j, "digest_sha256", hex);
			json_null(j, "no_digest");
			return;
		}
	}
	json_null(j, "digest_sha256");
	json_str(j, "no_digest", p && p->man.no_digest ? p->man.no_digest :
		 p && p->man.digest_used ? "the run did not finish" :
		 !strcmp(r->mode, "legacy") ? "the legacy format is not a raw image" :
		 "not computed");
}

static void add_image(struct json *j, const struct report_run *r)
{
	const struct options *o = r->o;

	json_object(j, "image");
	json_path(j, "path", o->image);
	json_str(j, "format", r->format ? r->format : r->mode);
	json_u64(j, "bytes", r->image_bytes);
	json_u64(j, "block_size", r->block_size);
	json_u64(j, "dest_offset", o->dest_offset);
	json_u64(j, "file_bytes", r->file_bytes ? r->file_bytes :
		 r->image_bytes + o->dest_offset);
	if (r->data_blocks >= 0) {
		uint64_t data = (uint64_t)r->data_blocks * r->block_size;

		json_u64(j, "data_blocks", (uint64_t)r->data_blocks);
		json_u64(j, "hole_bytes", r->image_bytes > data ? r->image_bytes - data : 0);
	} else {
		json_null(j, "data_blocks");
		json_null(j, "hole_bytes");
	}
	add_digest(j, r);
	json_close(j);
}

static void add_io(struct json *j, const struct report_run *r)
{
	const struct plan *p = r->p;
	const struct sink *k = r->sink;
	uint64_t scan = 0, copy = p ? p->src.bytes_read : r->input_read;
	io_stats st = NULL;

	json_object(j, "io");
	/* libext2fs' own reads: the superblock, the tables, the walk */
	if (p && p->fs && p->fs->io && p->fs->io->manager->get_stats &&
	    p->fs->io->manager->get_stats(p->fs->io, &st) == 0 && st)
		scan = st->bytes_read;
	json_u64(j, "read_bytes", scan + copy);
	if (p)
		json_u64(j, "scan_read_bytes", scan);
	else
		json_null(j, "scan_read_bytes");
	json_u64(j, "copy_read_bytes", copy);
	json_u64(j, "written_bytes", !k || r->o->dry_run ? 0 :
		 k->written * k->blocksize + k->zero_bytes);
	json_u64(j, "unchanged_blocks", k ? k->skipped : 0);
	if (r->o->dry_run)
		json_u64(j, "listed_blocks", k ? k->written : 0);
	else
		json_null(j, "listed_blocks");
	json_close(j);
}

static const char *kind_name(enum warn_kind k)
{
	static const char *const names[WARN_KINDS] = {
		[WARN_INODE] = "inode", [WARN_GROUP] = "group",
		[WARN_BLOCK] = "block", [WARN_OTHER] = "other",
	};

	return k < WARN_KINDS ? names[k] : "other";
}

static void add_problems(struct json *j, const struct manifest *m)
{
	size_t i;

	json_array(j, "list");
	for (i = 0; m && i < m->kept; i++) {
		const struct manifest_problem *q = &m->problems[i];

		json_object(j, NULL);
		json_str(j, "kind", kind_name(q->kind));
		if (q->subject != WARN_NO_SUBJECT && q->kind != WARN_OTHER)
			json_u64(j, kind_name(q->kind), q->subject);
		json_u64(j, "count", q->n);
		json_str(j, "message", q->msg);
		json_close(j);
	}
	json_close(j);
}

static void add_warnings(struct json *j, const struct plan *p)
{
	const struct manifest *m = p ? &p->man : NULL;
	const uint64_t *n = p ? p->warn.count : NULL;

	json_object(j, "warnings");
	json_u64(j, "problems", m ? m->nproblems : 0);
	json_u64(j, "damaged_inodes", n ? n[WARN_INODE] : 0);
	json_u64(j, "damaged_groups", n ? n[WARN_GROUP] : 0);
	json_u64(j, "bad_blocks", n ? n[WARN_BLOCK] : 0);
	json_u64(j, "other", n ? n[WARN_OTHER] : 0);
	json_u64(j, "listed", m ? m->kept : 0);
	add_problems(j, m);
	json_close(j);
}

static void add_anonymized(struct json *j, const struct plan *p)
{
	const struct anon_counts *n;

	if (!p || !p->anon) {
		json_null(j, "anonymized");
		return;
	}
	n = &p->anon->n;
	json_object(j, "anonymized");
	json_u64(j, "names", n->names);
	json_u64(j, "names_htree", n->names_htree);
	json_u64(j, "names_kept", n->names_kept_short + n->names_kept_htree);
	json_u64(j, "symlinks", n->symlinks);
	json_u64(j, "xattrs", n->xattrs);
	json_u64(j, "xattrs_kept", n->xattrs_kept);
	json_u64(j, "inline_files", n->inline_files);
	json_u64(j, "deleted_entries", n->deleted_entries);
	json_u64(j, "journal_blocks", n->journal_blocks);
	json_bool(j, "uuid", p->anon->uuid_mapped);
	json_close(j);
}

/* The manifest-sha256 line of the manifest made for the image. */
static void add_manifest(struct json *j, const struct report_run *r)
{
	const char *text = r->p ? r->p->man_text : NULL;
	const char *at = text ? strstr(text, "\nmanifest-sha256: ") : NULL;
	char hex[65] = "";

	if (!at) {
		json_null(j, "manifest");
		return;
	}
	sscanf(at, "\nmanifest-sha256: %64[0-9a-f]", hex);
	json_object(j, "manifest");
	json_str(j, "sha256", hex);
	json_path(j, "file", r->o->manifest && r->p->man_placed ? r->o->manifest : NULL);
	json_str(j, "in_image", r->manifest_in_image);
	json_close(j);
}

static char *report_text(const struct report_run *r, int status, int pretty)
{
	struct json j;

	json_begin(&j, pretty);
	json_int(&j, "schema", REPORT_SCHEMA);
	add_versions(&j);
	add_command(&j, r->o);
	json_str(&j, "mode", r->mode);
	add_options(&j, r->o);
	add_times(&j, r, r->p ? r->p->man.when : r->when);
	add_outcome(&j, r, status);
	add_source(&j, r);
	add_filesystem(&j, r->p);
	add_captured(&j, r);
	add_image(&j, r);
	add_io(&j, r);
	add_warnings(&j, r->p);
	add_anonymized(&j, r->p);
	add_manifest(&j, r);
	return json_end(&j);
}

int report_write(const struct report_run *r, int status)
{
	const char *path = r->o->report;
	int to_stderr = path && !strcmp(path, "-");
	char *text;
	int e;

	if (!path)
		return status;
	/* on stderr one line, easy to pick from among the messages */
	text = report_text(r, status, !to_stderr);
	if (!text) {
		msg_err(ENOMEM, _("while writing the report %s"), path);
		return 1;
	}
	if (to_stderr) {
		fputs(text, stderr);
		free(text);
		return status;
	}
	e = manifest_write_file(path, text);
	free(text);
	if (!e)
		return status;
	msg_err(e, _("while writing the report %s"), path);
	if (status != 1)
		msg_plain(_("the image %s was written; only its report is missing"),
			  strcmp(r->o->image, "-") ? r->o->image : "stdout");
	return 1;
}
