/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Throw-away file trees for tests: write a file in place (same inode, so a
 * counter the engine holds open sees the new value), making the folders on
 * the way, and remove a whole tree (nftw with world_rm_cb).
 */
#ifndef JPU_TESTS_TREE_FILES_H
#define JPU_TESTS_TREE_FILES_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((unused)) static int world_rm_cb(const char *path, const struct stat *sb, int flag,
                                               struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* write dir/rel in place, making the folders on the way */
__attribute__((unused)) static void world_put(const char *dir, const char *rel, const char *content)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		perror(path);
	if (fd >= 0)
		close(fd);
}

#endif /* JPU_TESTS_TREE_FILES_H */
