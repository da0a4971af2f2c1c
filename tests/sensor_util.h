/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers for the sensor backend tests: fixture roots, throw-away copies
 * of fixture trees (mkdtemp + cp -a) edited in place between reads, and a
 * probe wrapper. Header-only, static functions: each test includes it once.
 */
#ifndef JPU_TESTS_SENSOR_UTIL_H
#define JPU_TESTS_SENSOR_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

static char fixtures_dir[1024];

static inline const char *fixtures(void)
{
	const char *e = getenv("JPU_FIXTURES");

	if (!fixtures_dir[0])
		snprintf(fixtures_dir, sizeof fixtures_dir, "%s", e ? e : "tests/fixtures");
	return fixtures_dir;
}

/* Open <fixtures>/<scenario>/sys, or -1. */
static inline int fixture_sys(const char *scenario)
{
	char path[1200];

	snprintf(path, sizeof path, "%s/%s/sys", fixtures(), scenario);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* A throw-away copy of a fixture: returns the malloc'd path of the copy's
 * sys folder (in a fresh mkdtemp folder) or NULL. */
static inline char *copy_fixture(const char *scenario)
{
	char tmpl[] = "/tmp/jpu-sensor-XXXXXX";
	char cmd[2600], *sys;

	if (!mkdtemp(tmpl))
		return NULL;
	snprintf(cmd, sizeof cmd, "cp -a '%s/%s/sys' '%s/sys'", fixtures(), scenario, tmpl);
	if (system(cmd) != 0)
		return NULL;
	sys = malloc(strlen(tmpl) + 5);
	if (sys)
		sprintf(sys, "%s/sys", tmpl);
	return sys;
}

/* Remove a copy made by copy_fixture (the folder above sys) and free it. */
static inline void remove_copy(char *sys)
{
	char cmd[1200];
	char *slash;

	if (!sys)
		return;
	slash = strrchr(sys, '/');
	if (slash && strncmp(sys, "/tmp/jpu-sensor-", 16) == 0) {
		*slash = '\0';
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", sys);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", sys);
	}
	free(sys);
}

static inline int open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Replace the content of root/rel (rewrite in place: the open fd of the
 * backend sees the new content, like a sysfs attribute). */
static inline int write_file(const char *root, const char *rel, const char *content)
{
	char path[1200];
	int fd;
	ssize_t n;
	size_t len = strlen(content);

	snprintf(path, sizeof path, "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, content, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static inline int remove_file(const char *root, const char *rel)
{
	char path[1200];

	snprintf(path, sizeof path, "%s/%s", root, rel);
	return unlink(path) < 0 ? -errno : 0;
}

static inline int make_link(const char *root, const char *rel, const char *target)
{
	char path[1200];

	snprintf(path, sizeof path, "%s/%s", root, rel);
	return symlink(target, path) < 0 ? -errno : 0;
}

static inline int probe_sensor(const struct jpu_sensor_ops *ops, int sysfs_fd, struct jpu_sensor *s,
                               struct jpu_diag *diag)
{
	struct jpu_probe_opts o;

	memset(s, 0, sizeof *s);
	memset(diag, 0, sizeof *diag);
	memset(&o, 0, sizeof o);
	s->ops = ops;
	o.sysfs_fd = sysfs_fd;
	o.procfs_fd = -1;
	return ops->probe(s, &o, diag);
}

static inline void close_sensor(struct jpu_sensor *s)
{
	if (s->ops && s->ops->close)
		s->ops->close(s);
	memset(s, 0, sizeof *s);
}

static inline struct jpu_domain *find_domain(struct jpu_sensor *s, const char *id)
{
	for (size_t i = 0; i < s->n_domains; i++)
		if (strcmp(s->domains[i].id, id) == 0)
			return &s->domains[i];
	return NULL;
}

/* Run fn(arg) in a forked child that dropped to uid/gid 65534 (nobody).
 * Returns the child's exit code, or -1 when dropping privileges is not
 * possible here (the caller skips). */
static inline int run_unprivileged(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(125);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) == 125 ? -1 : WEXITSTATUS(status);
}

/* Make every folder of a copy traversable by others (mkdtemp made the top
 * 0700) so that an unprivileged child can reach the files. */
static inline int open_up_dirs(const char *sys)
{
	char cmd[1300];
	char top[1200];
	char *slash;

	snprintf(top, sizeof top, "%s", sys);
	slash = strrchr(top, '/');
	if (slash)
		*slash = '\0';
	snprintf(cmd, sizeof cmd, "chmod 0755 '%s' && find '%s' -type d -exec chmod 0755 {} +", top,
	         sys);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
