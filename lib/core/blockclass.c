#include "blockclass.h"
#include "nls.h"

const char *block_class_name(enum block_class c)
{
	static const char *const names[BC_COUNT] = {
		[BC_SUPERBLOCK] = N_("superblock"),
		[BC_DESCRIPTOR] = N_("group descriptors"),
		[BC_BITMAP] = N_("bitmaps"),
		[BC_INODE_TABLE] = N_("inode tables"),
		[BC_MMP] = N_("mmp"),
		[BC_DIRECTORY] = N_("directories"),
		[BC_EXTENT] = N_("extent tree"),
		[BC_INDIRECT] = N_("indirect blocks"),
		[BC_RESIZE] = N_("reserved gdt blocks"),
		[BC_SYMLINK] = N_("symlinks"),
		[BC_XATTR] = N_("xattr blocks"),
		[BC_JOURNAL] = N_("journal"),
		[BC_QUOTA] = N_("quota"),
		[BC_ORPHAN_FILE] = N_("orphan file"),
		[BC_DATA] = N_("file data"),
	};

	return (c >= 0 && c < BC_COUNT) ? names[c] : N_("unknown");
}
