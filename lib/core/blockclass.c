#include "blockclass.h"

const char *block_class_name(enum block_class c)
{
	static const char *const names[BC_COUNT] = {
		[BC_SUPERBLOCK] = "superblock",
		[BC_DESCRIPTOR] = "group descriptors",
		[BC_BITMAP] = "bitmaps",
		[BC_INODE_TABLE] = "inode tables",
		[BC_MMP] = "mmp",
		[BC_DIRECTORY] = "directories",
		[BC_EXTENT] = "extent tree",
		[BC_INDIRECT] = "indirect blocks",
		[BC_RESIZE] = "reserved gdt blocks",
		[BC_SYMLINK] = "symlinks",
		[BC_XATTR] = "xattr blocks",
		[BC_JOURNAL] = "journal",
		[BC_QUOTA] = "quota",
		[BC_ORPHAN_FILE] = "orphan file",
		[BC_DATA] = "file data",
	};

	return (c >= 0 && c < BC_COUNT) ? names[c] : "unknown";
}
