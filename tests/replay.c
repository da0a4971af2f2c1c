/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay: run the engine over a fixture machine as a time series, with a
 * fixed clock, and print the last sample as JSON and as Prometheus text.
 * Used by tests/test_golden.py to check and regenerate tests/golden/.
 *
 *   replay SYSFS PROCFS STEPS SCOPE [PID]
 *
 * SYSFS and PROCFS must be throw-away copies: every step adds to each
 * cumulative counter in place (energy_uj, energyN_input) an increment taken
 * from SYSFS/../replay (lines "RELATIVE_PATH MICROJOULES"; default 10 J
 * a step = 10 W), wrapping at the sibling max_energy_range_uj like the
 * hardware; adds 100 busy and 100 idle ticks to PROCFS/stat and 50 ticks of
 * utime to PID (when given); then the clock moves 1 s and the engine samples.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

static uint64_t now_mono = 5000000, now_real = 1795608000000000ULL; /* 2026-11-25T12:00Z */
static const char *sysfs_root;
static char replay_rules[8192];

static uint64_t clock_mono(void)
{
	return now_mono;
}

static uint64_t clock_real(void)
{
	return now_real;
}

static int read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = jpu_pread_all(fd, buf, sizeof buf);
	close(fd);
	if (n < 0)
		return (int)n;
	return jpu_parse_u64(buf, (size_t)n, v);
}

static void write_u64(const char *path, uint64_t v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)v);

	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		perror(path);
		exit(1);
	}
	close(fd);
}

/* The increment of one counter: a rule for its path relative to SYSFS. */
static uint64_t increment_for(const char *rel)
{
	size_t len = strlen(rel);

	for (const char *p = replay_rules; *p;) {
		const char *eol = strchr(p, '\n');
		const char *sp = strchr(p, ' ');
		uint64_t v;

		if (!eol)
			eol = p + strlen(p);
		if (sp && sp < eol && (size_t)(sp - p) == len && strncmp(p, rel, len) == 0 &&
		    jpu_parse_u64(sp + 1, (size_t)(eol - sp - 1), &v) == 0)
			return v;
		p = *eol ? eol + 1 : eol;
	}
	return 10000000;
}

static int bump(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	char maxpath[PATH_MAX];
	uint64_t v, max = 0, inc;

	(void)sb;
	if (flag != FTW_F)
		return 0;
	if (strcmp(base, "energy_uj") != 0 &&
	    !(strncmp(base, "energy", 6) == 0 && strstr(base, "_input")))
		return 0;
	if (read_u64(path, &v) < 0)
		return 0; /* garbage fixtures stay garbage */
	inc = increment_for(path + strlen(sysfs_root) + 1);
	snprintf(maxpath, sizeof maxpath, "%.*smax_energy_range_uj", (int)ftw->base, path);
	/* past the range the counter starts again from 0, as the engine
	 * reads it (lib/counter.c) */
	if (read_u64(maxpath, &max) == 0 && max > 0 && v <= max)
		v = v + inc > max ? v + inc - max : v + inc;
	else
		v += inc;
	write_u64(path, v);
	return 0;
}

static void bump_proc(const char *procfs, int pid)
{
	char path[PATH_MAX], buf[4096], out[4096];
	unsigned long long f[10];
	const char *p, *rest;
	int fd, n;

	snprintf(path, sizeof path, "%s/stat", procfs);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || (n = (int)jpu_pread_all(fd, buf, sizeof buf)) < 0) {
		perror(path);
		exit(1);
	}
	p = buf + 4;
	for (int i = 0; i < 10; i++) {
		uint64_t v;

		if (jpu_next_u64(&p, buf + n, &v) < 0) {
			fprintf(stderr, "%s: cannot parse the cpu line\n", path);
			exit(1);
		}
		f[i] = v;
	}
	rest = p;
	f[0] += 100; /* user */
	f[3] += 100; /* idle */
	n = snprintf(out, sizeof out, "cpu  %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu%s",
	             f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], rest);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, out, (size_t)n, 0) != n)
		perror(path);
	close(fd);

	if (pid <= 0)
		return;
	/* utime is field 14: the 12th after the last ')' */
	snprintf(path, sizeof path, "%s/%d/stat", procfs, pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || (n = (int)jpu_pread_all(fd, buf, sizeof buf)) < 0) {
		perror(path);
		exit(1);
	}
	{
		const char *close_paren = strrchr(buf, ')');
		const char *q, *start;
		uint64_t utime;

		if (!close_paren) {
			fprintf(stderr, "%s: no ')'\n", path);
			exit(1);
		}
		q = close_paren + 1;
		if (jpu_skip_fields(&q, buf + n, 11) < 0) {
			fprintf(stderr, "%s: short\n", path);
			exit(1);
		}
		start = q;
		if (jpu_next_u64(&q, buf + n, &utime) < 0) {
			fprintf(stderr, "%s: bad utime\n", path);
			exit(1);
		}
		n = snprintf(out, sizeof out, "%.*s %llu%s", (int)(start - buf), buf,
		             (unsigned long long)utime + 50, q);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, out, (size_t)n, 0) != n)
		perror(path);
	close(fd);
}

int main(int argc, char **argv)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_engine *e = NULL;
	char path[PATH_MAX], *json = NULL, *prom = NULL;
	int steps, pid = 0, r;

	if (argc < 5) {
		fprintf(stderr, "usage: replay SYSFS PROCFS STEPS SCOPE [PID]\n");
		return 2;
	}
	sysfs_root = argv[1];
	steps = atoi(argv[3]); /* test tool with trusted arguments */
	if (argc > 5)
		pid = atoi(argv[5]);
	snprintf(path, sizeof path, "%s/../replay", sysfs_root);
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (jpu_pread_all(fd, replay_rules, sizeof replay_rules) < 0)
				replay_rules[0] = '\0';
			close(fd);
		}
	}
	o.sysfs_root = argv[1];
	o.procfs_root = argv[2];
	o.nvml_library = "";
	o.scope = (enum jpu_scope)jpu_scope_from_string(argv[4]);
	o.pid = pid;
	o.mem_bytes = 0;
	r = jpu_engine_new(&o, &e);
	if (r < 0) {
		fprintf(stderr, "replay: jpu_engine_new: %s\n", strerror(-r));
		return 1;
	}
	jpu_engine_set_clocks(e, clock_mono, clock_real);
	jpu_engine_sample(e);
	for (int i = 0; i < steps; i++) {
		nftw(sysfs_root, bump, 32, FTW_PHYS);
		bump_proc(argv[2], pid);
		now_mono += 1000000;
		now_real += 1000000;
		jpu_engine_sample(e);
	}
	r = jpu_engine_json(e, &json);
	if (r == 0)
		r = jpu_engine_prometheus(e, &prom);
	if (r < 0) {
		fprintf(stderr, "replay: no sample: %s\n", strerror(-r));
		return 1;
	}
	printf("%s\n---\n%s", json, prom);
	free(json);
	free(prom);
	jpu_engine_free(e);
	return 0;
}
