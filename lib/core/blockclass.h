/* Why a block is captured: each captured extent carries one class. */
#ifndef E2I_BLOCKCLASS_H
#define E2I_BLOCKCLASS_H

enum block_class {
	BC_SUPERBLOCK,
	BC_DESCRIPTOR,
	BC_BITMAP,
	BC_INODE_TABLE,
	BC_MMP,
	BC_DIRECTORY,
	BC_EXTENT,
	BC_INDIRECT,
	BC_RESIZE,         /* reserved GDT blocks, held by the resize inode */
	BC_SYMLINK,
	BC_XATTR,
	BC_JOURNAL,
	BC_QUOTA,
	BC_ORPHAN_FILE,
	BC_DATA,
	BC_COUNT
};

/* The class's name, untranslated: the manifest's keys use it; a message
 * shows _(block_class_name(c)). */
const char *block_class_name(enum block_class c);

#endif
