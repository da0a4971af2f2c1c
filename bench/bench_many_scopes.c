/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cost of added scopes (jpu_scope_add) against the same engine without
 * them, in the same run, on a fixture machine of N processes spread over
 * U uids (their /proc/PID directories chowned, so it needs root for the
 * users to be distinct) and C v2 cgroups:
 *
 *   bench_many_scopes [--procs N] [--users U] [--cgroups C] [--ticks T]
 *
 * Prints per tick CPU time (CLOCK_PROCESS_CPUTIME_ID) of the baseline (the
 * engine's own system scope) and of the engine with U user scopes and C
 * cgroup scopes, their ratio, the share of one core at a 1 s interval, and
 * the process's RSS (VmRSS) before and after. One JSON object on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jpu/jpu.h"

static char root[64];

static void put(const char *rel, const char *content)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long rss_kb(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "VmRSS:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

static unsigned tick_no;

/* the machine moves on: host CPU times, every process, every cgroup */
static void step(unsigned procs, unsigned cgroups)
{
	char rel[128], buf[512];

	tick_no++;
	snprintf(buf, sizeof buf, "cpu  %u 0 0 %u 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n",
	         1000 + tick_no * 100, 1000 + tick_no * 100);
	put("proc/stat", buf);
	snprintf(buf, sizeof buf, "package package-0 energy_uj=%u\n", 1000000 + tick_no * 10000000);
	put("sys/fake/domains", buf);
	for (unsigned i = 0; i < procs; i++) {
		int pid = 100 + (int)i;

		snprintf(rel, sizeof rel, "proc/%d/stat", pid);
		snprintf(buf, sizeof buf,
		         "%d (p%d) S 1 %d %d 0 -1 0 0 0 0 0 %u 0 0 0 20 0 1 0 %d 1000 64 0\n", pid,
		         pid, pid, pid, tick_no * (i % 3), pid);
		put(rel, buf);
	}
	for (unsigned c = 0; c < cgroups; c++) {
		snprintf(rel, sizeof rel, "sys/fs/cgroup/kubepods/pod%u/cpu.stat", c);
		snprintf(buf, sizeof buf, "usage_usec %u\n", tick_no * 1000 * (c + 1));
		put(rel, buf);
		snprintf(rel, sizeof rel, "sys/fs/cgroup/kubepods/pod%u/memory.current", c);
		put(rel, "1048576\n");
	}
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* CPU ns per tick of an engine over `ticks` ticks, with or without the
 * added scopes. */
static double run(bool scopes, unsigned procs, unsigned users, unsigned cgroups, unsigned ticks,
                  long *ret_rss)
{
	char sys[96], proc[96], key[64], path[64];
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_engine *e = NULL;
	uint64_t t0, spent = 0;
	int r;

	snprintf(sys, sizeof sys, "%s/sys", root);
	snprintf(proc, sizeof proc, "%s/proc", root);
	o.sysfs_root = sys;
	o.procfs_root = proc;
	o.sensors = "fake";
	o.history_len = 60;
	r = jpu_engine_new(&o, &e);
	if (r < 0) {
		fprintf(stderr, "jpu_engine_new: %s\n", strerror(-r));
		exit(1);
	}
	for (unsigned u = 0; scopes && u < users; u++) {
		jpu_scope_spec sp = {.sz = sizeof sp, .scope = JPU_SCOPE_USER};

		sp.uid = 20000 + u;
		sp.prometheus = 1;
		snprintf(key, sizeof key, "user/%u", 20000 + u);
		if (jpu_scope_add(e, key, &sp) < 0)
			exit(1);
	}
	for (unsigned c = 0; scopes && c < cgroups; c++) {
		jpu_scope_spec sp = {.sz = sizeof sp, .scope = JPU_SCOPE_CGROUP};

		snprintf(path, sizeof path, "/kubepods/pod%u", c);
		sp.cgroup = path;
		sp.prometheus = 1;
		snprintf(key, sizeof key, "pod/%u", c);
		if (jpu_scope_add(e, key, &sp) < 0)
			exit(1);
	}
	for (unsigned t = 0; t <= ticks; t++) {
		step(procs, cgroups);
		t0 = cpu_ns();
		jpu_engine_sample(e);
		if (t > 0) /* the first tick is the baseline */
			spent += cpu_ns() - t0;
	}
	*ret_rss = rss_kb();
	jpu_engine_free(e);
	return (double)spent / ticks;
}

int main(int argc, char **argv)
{
	unsigned procs = 1000, users = 50, cgroups = 10, ticks = 20;
	double base, many;
	long rss0, rss_base, rss_many;

	for (int i = 1; i + 1 < argc; i += 2) {
		unsigned v = (unsigned)strtoul(argv[i + 1], NULL, 10);

		if (strcmp(argv[i], "--procs") == 0)
			procs = v;
		else if (strcmp(argv[i], "--users") == 0)
			users = v;
		else if (strcmp(argv[i], "--cgroups") == 0)
			cgroups = v;
		else if (strcmp(argv[i], "--ticks") == 0)
			ticks = v ? v : 1;
	}
	snprintf(root, sizeof root, "/tmp/jpu-bench-scopes-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	put("proc/meminfo", "MemTotal: 16000000 kB\nMemFree: 1 kB\nMemAvailable: 8000000 kB\n");
	step(procs, cgroups);
	for (unsigned i = 0; i < procs; i++) {
		char rel[128], buf[128];

		snprintf(rel, sizeof rel, "proc/%u/status", 100 + i);
		snprintf(buf, sizeof buf, "Uid:\t%u\t%u\t%u\t%u\n", 20000 + i % users,
		         20000 + i % users, 20000 + i % users, 20000 + i % users);
		put(rel, buf);
		snprintf(rel, sizeof rel, "%s/proc/%u", root, 100 + i);
		if (geteuid() == 0 && chown(rel, 20000 + i % users, 0) < 0)
			perror(rel);
	}
	rss0 = rss_kb();
	base = run(false, procs, users, cgroups, ticks, &rss_base);
	many = run(true, procs, users, cgroups, ticks, &rss_many);
	printf("{\"procs\":%u,\"users\":%u,\"cgroups\":%u,\"ticks\":%u,"
	       "\"base_tick_us\":%.1f,\"scopes_tick_us\":%.1f,\"ratio\":%.2f,"
	       "\"core_pct_at_1s\":%.3f,\"rss_kb_start\":%ld,\"rss_kb_base\":%ld,"
	       "\"rss_kb_scopes\":%ld}\n",
	       procs, users, cgroups, ticks, base / 1e3, many / 1e3, many / base, many / 1e7, rss0,
	       rss_base, rss_many);
	nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
