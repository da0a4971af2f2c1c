/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The /proc files the engine reads, with their strict parsers: /proc/stat
 * (host CPU times), /proc/meminfo and /proc/PID/stat.
 */
#ifndef JPU_PROC_PROCFILE_H
#define JPU_PROC_PROCFILE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

#define JPU_PID_STAT_BUF 1024 /* one /proc/PID/stat line */

/* Read /proc/stat totals. */
int jpu_proc_host_cpu(int procfs_fd, struct jpu_host_cpu *ret);
/* MemTotal and MemTotal - MemAvailable from /proc/meminfo, in bytes. */
int jpu_proc_meminfo(int procfs_fd, uint64_t *ret_total, uint64_t *ret_used);
/* The parsers behind jpu_proc_host_cpu and jpu_proc_meminfo, on a buffer
 * (fuzz targets and tests). -EBADMSG on malformed input. */
int jpu_parse_proc_stat(const char *buf, size_t len, struct jpu_host_cpu *ret);
int jpu_parse_meminfo(const char *buf, size_t len, uint64_t *ret_total, uint64_t *ret_used);

/* Read a whole procfs file into a malloc'd buffer (*ret, the caller frees
 * it), growing it on -EFBIG from `start` up to `max` bytes. Returns the
 * length or -errno (-EFBIG when longer than max). */
ssize_t jpu_proc_read_grow(int dirfd, const char *path, size_t start, size_t max, char **ret);

/* Fields of /proc/PID/stat that we use. */
struct jpu_pid_stat {
	pid_t pid, ppid;
	char state;
	uint64_t utime, stime, cutime, cstime; /* ticks */
	uint64_t starttime;                    /* ticks after boot */
	uint64_t rss_pages;
};
/* Parse the content of /proc/PID/stat (comm may contain ") (" and spaces:
 * fields start after the last ')'). */
int jpu_parse_pid_stat(const char *buf, size_t len, struct jpu_pid_stat *ret);
/* Read and parse /proc/PID/stat. -ENOENT/-ESRCH when the process is gone,
 * -EBADMSG when the file names another pid. */
int jpu_read_pid_stat(int procfs_fd, pid_t pid, struct jpu_pid_stat *ret);

/* Whether an error from reading /proc/PID/... means the process is gone. */
static inline bool jpu_proc_gone(int r)
{
	return r == -ENOENT || r == -ESRCH;
}

/* Clock ticks per second (sysconf(_SC_CLK_TCK)). */
long jpu_clk_tck(void);
/* Bytes per page (sysconf(_SC_PAGESIZE)), for RSS in pages. */
long jpu_page_size(void);

#endif /* JPU_PROC_PROCFILE_H */
