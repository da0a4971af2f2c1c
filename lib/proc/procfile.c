/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The /proc files of procfile.h: host CPU times, memory and the stat line
 * of one process, each read with one pread and parsed strictly (STYLE rules
 * 7 and 9).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/procfile.h"

#define PROC_STAT_MAX (1024 * 1024) /* /proc/stat on a many-CPU host */

long jpu_clk_tck(void)
{
	static long tck;

	if (tck <= 0) {
		long v = sysconf(_SC_CLK_TCK);

		/* USER_HZ is 100 on every Linux architecture we know of */
		tck = v > 0 ? v : 100;
	}
	return tck;
}

long jpu_page_size(void)
{
	long v = sysconf(_SC_PAGESIZE);

	return v > 0 ? v : 4096;
}

/* Read a whole procfs file into a malloc'd buffer, growing it on -EFBIG up
 * to `max` bytes. */
ssize_t jpu_proc_read_grow(int dirfd, const char *path, size_t start, size_t max, char **ret)
{
	size_t size = start;
	char *buf = NULL;
	ssize_t n;
	int fd;

	fd = jpu_open_at(dirfd, path);
	if (fd < 0)
		return fd;
	for (;;) {
		char *nb = realloc(buf, size);

		if (!nb) {
			n = -ENOMEM;
			break;
		}
		buf = nb;
		n = jpu_pread_all(fd, buf, size);
		if (n != -EFBIG || size >= max)
			break;
		size *= 2;
		if (size > max)
			size = max;
	}
	close(fd);
	if (n < 0) {
		free(buf);
		return n;
	}
	*ret = buf;
	return n;
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

int jpu_parse_proc_stat(const char *buf, size_t len, struct jpu_host_cpu *ret)
{
	/* fs/proc/stat.c: user nice system idle iowait irq softirq steal
	 * guest guest_nice; guest and guest_nice are already inside user and
	 * nice (kernel/sched/cputime.c, account_guest_time) */
	uint64_t v[10] = {0};
	const char *p, *end = buf + len, *le;
	bool have_total = false;
	unsigned ncpu = 0, i;
	int r = 0;

	for (p = buf; p < end; p = le + 1) {
		le = line_end(p, end);
		if (le - p >= 4 && memcmp(p, "cpu ", 4) == 0 && !have_total) {
			const char *q = p + 4;

			/* the first four have been there since 2.4; newer kernels
			 * append the rest */
			for (i = 0; i < JPU_ARRAY_SIZE(v); i++) {
				r = jpu_next_u64(&q, le, &v[i]);
				if (r < 0)
					break;
			}
			if (i < 4)
				return -EBADMSG;
			/* a field that is not a number is garbage, not the end */
			if (r < 0) {
				while (q < le && (*q == ' ' || *q == '\t'))
					q++;
				if (q < le)
					return -EBADMSG;
			}
			for (i = 0; i < JPU_ARRAY_SIZE(v); i++)
				if (v[i] > UINT64_MAX / 16)
					return -ERANGE;
			have_total = true;
		} else if (le - p >= 4 && memcmp(p, "cpu", 3) == 0 && p[3] >= '0' && p[3] <= '9') {
			ncpu++;
		}
		if (le == end)
			break;
	}
	if (!have_total)
		return -EBADMSG;
	ret->busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6];
	ret->all_ticks = ret->busy_ticks + v[3] + v[4];
	ret->ncpu = ncpu ? ncpu : 1;
	return 0;
}

int jpu_proc_host_cpu(int procfs_fd, struct jpu_host_cpu *ret)
{
	char *buf = NULL;
	ssize_t n;
	int r;

	n = jpu_proc_read_grow(procfs_fd, "stat", 8192, PROC_STAT_MAX, &buf);
	if (n < 0)
		return (int)n;
	r = jpu_parse_proc_stat(buf, (size_t)n, ret);
	free(buf);
	return r;
}

/* "Key:   12345 kB" -> bytes */
static int meminfo_value(const char *p, const char *le, uint64_t *ret)
{
	uint64_t kb;
	const char *s;

	if (jpu_next_u64(&p, le, &kb) < 0)
		return -EBADMSG;
	while (p < le && *p == ' ')
		p++;
	s = p;
	if (le - s != 2 || memcmp(s, "kB", 2) != 0)
		return -EBADMSG;
	if (kb > UINT64_MAX / 1024)
		return -ERANGE;
	*ret = kb * 1024;
	return 0;
}

int jpu_parse_meminfo(const char *buf, size_t len, uint64_t *ret_total, uint64_t *ret_used)
{
	static const char *const keys[] = {
	        "MemTotal:", "MemAvailable:", "MemFree:", "Buffers:", "Cached:"};
	uint64_t val[JPU_ARRAY_SIZE(keys)] = {0};
	bool have[JPU_ARRAY_SIZE(keys)] = {false};
	const char *p, *end = buf + len, *le;
	uint64_t avail;
	size_t k;
	int r;

	for (p = buf; p < end; p = le + 1) {
		le = line_end(p, end);
		for (k = 0; k < JPU_ARRAY_SIZE(keys); k++) {
			size_t kl = strlen(keys[k]);

			if ((size_t)(le - p) > kl && memcmp(p, keys[k], kl) == 0) {
				r = meminfo_value(p + kl, le, &val[k]);
				if (r < 0)
					return r;
				have[k] = true;
			}
		}
		if (le == end)
			break;
	}
	if (!have[0] || val[0] == 0)
		return -EBADMSG;
	if (have[1]) {
		avail = val[1];
	} else if (have[2] && have[3] && have[4]) {
		/* kernels before 3.14 have no MemAvailable: the classic
		 * free + buffers + cached approximation */
		if (val[2] > UINT64_MAX / 4 || val[3] > UINT64_MAX / 4 || val[4] > UINT64_MAX / 4)
			return -ERANGE;
		avail = val[2] + val[3] + val[4];
	} else {
		return -EBADMSG;
	}
	*ret_total = val[0];
	*ret_used = avail >= val[0] ? 0 : val[0] - avail;
	return 0;
}

int jpu_proc_meminfo(int procfs_fd, uint64_t *ret_total, uint64_t *ret_used)
{
	char *buf = NULL;
	ssize_t n;
	int r;

	n = jpu_proc_read_grow(procfs_fd, "meminfo", 8192, 65536, &buf);
	if (n < 0)
		return (int)n;
	r = jpu_parse_meminfo(buf, (size_t)n, ret_total, ret_used);
	free(buf);
	return r;
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int jpu_parse_pid_stat(const char *buf, size_t len, struct jpu_pid_stat *ret)
{
	const char *end = buf + len, *p, *rp;
	uint64_t pid, ppid, u, s, cu, cs, start, rss;
	struct jpu_pid_stat st;

	/* "PID (comm) S ppid ..." (proc(5)); comm is up to 16 bytes of
	 * anything, ")" and " (" included, so fields start after the LAST ')' */
	p = memchr(buf, ' ', len);
	if (!p || p == buf || jpu_parse_u64(buf, (size_t)(p - buf), &pid) < 0)
		return -EBADMSG;
	if (pid == 0 || pid > INT_MAX || end - p < 2 || p[1] != '(')
		return -EBADMSG;
	rp = NULL;
	for (const char *q = end; q > p + 2; q--) {
		if (q[-1] == ')') {
			rp = q - 1;
			break;
		}
	}
	if (!rp)
		return -EBADMSG;
	p = rp + 1;
	/* " S " : one state letter between single spaces */
	if (end - p < 3 || p[0] != ' ' || !is_alpha(p[1]) || p[2] != ' ')
		return -EBADMSG;
	st.state = p[1];
	p += 2;
	/* 4 ppid, 5-13 skipped (tty_nr and tpgid may be negative),
	 * 14-17 utime stime cutime cstime, 18-21 skipped (priority and nice
	 * may be negative), 22 starttime, 23 vsize, 24 rss */
	if (jpu_next_u64(&p, end, &ppid) < 0 || ppid > INT_MAX || jpu_skip_fields(&p, end, 9) < 0 ||
	    jpu_next_u64(&p, end, &u) < 0 || jpu_next_u64(&p, end, &s) < 0 ||
	    jpu_next_u64(&p, end, &cu) < 0 || jpu_next_u64(&p, end, &cs) < 0 ||
	    jpu_skip_fields(&p, end, 4) < 0 || jpu_next_u64(&p, end, &start) < 0 ||
	    jpu_skip_fields(&p, end, 1) < 0 || jpu_next_u64(&p, end, &rss) < 0)
		return -EBADMSG;
	/* the sum of four of them must not overflow later */
	if (u > UINT64_MAX / 8 || s > UINT64_MAX / 8 || cu > UINT64_MAX / 8 || cs > UINT64_MAX / 8)
		return -ERANGE;
	st.pid = (pid_t)pid;
	st.ppid = (pid_t)ppid;
	st.utime = u;
	st.stime = s;
	st.cutime = cu;
	st.cstime = cs;
	st.starttime = start;
	st.rss_pages = rss;
	*ret = st;
	return 0;
}

/* Read and parse /proc/PID/stat. -ENOENT/-ESRCH when the process is gone. */
int jpu_read_pid_stat(int procfs_fd, pid_t pid, struct jpu_pid_stat *ret)
{
	char path[32], buf[JPU_PID_STAT_BUF];
	ssize_t n;
	int r;

	snprintf(path, sizeof path, "%d/stat", (int)pid);
	n = jpu_read_at(procfs_fd, path, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	r = jpu_parse_pid_stat(buf, (size_t)n, ret);
	if (r < 0)
		return r;
	/* a stat file that names another pid is not this process */
	return ret->pid == pid ? 0 : -EBADMSG;
}
