/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A synthetic machine for engine tests through the public API: a
 * throw-away sysfs and procfs rewritten between samples (files written in
 * place: counters may be held open) and replaced clocks, so every figure
 * is known exactly.
 */
#ifndef JPU_TESTS_WORLD_H
#define JPU_TESTS_WORLD_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree_files.h"

static uint64_t world_mono = 1000000, world_real = 1795600000000000ULL;

__attribute__((unused)) static uint64_t world_clock_mono(void)
{
	return world_mono;
}

__attribute__((unused)) static uint64_t world_clock_real(void)
{
	return world_real;
}

__attribute__((unused)) static void world_advance(uint64_t usec)
{
	world_mono += usec;
	world_real += usec;
}

struct world {
	char dir[64], sys[96], proc[96];
	uint64_t busy, idle;
};

/* host CPU times (2 CPUs) and 4 MiB of memory, 2 MiB in use */
static void world_stat(struct world *w)
{
	char buf[256];

	snprintf(buf, sizeof buf,
	         "cpu  %llu 0 0 %llu 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n"
	         "cpu1 0 0 0 0 0 0 0 0 0 0\nbtime 1\n",
	         (unsigned long long)w->busy, (unsigned long long)w->idle);
	world_put(w->proc, "stat", buf);
	world_put(w->proc, "meminfo", "MemTotal: 4096 kB\nMemFree: 1 kB\nMemAvailable: 2048 kB\n");
}

/* a process of uid 0 with utime ticks */
__attribute__((unused)) static void world_proc(struct world *w, int pid, int ppid, uint64_t utime)
{
	char rel[64], buf[512];

	snprintf(rel, sizeof rel, "%d/stat", pid);
	snprintf(buf, sizeof buf,
	         "%d (p%d) S %d %d %d 0 -1 0 0 0 0 0 %llu 0 0 0 20 0 1 0 %d 1000 64 0\n", pid, pid,
	         ppid, pid, pid, (unsigned long long)utime, pid);
	world_put(w->proc, rel, buf);
	snprintf(rel, sizeof rel, "%d/status", pid);
	world_put(w->proc, rel, "Uid:\t0\t0\t0\t0\n");
}

static int world_init(struct world *w)
{
	snprintf(w->dir, sizeof w->dir, "/tmp/jpu-test-world-XXXXXX");
	if (!mkdtemp(w->dir))
		return -1;
	snprintf(w->sys, sizeof w->sys, "%s/sys", w->dir);
	snprintf(w->proc, sizeof w->proc, "%s/proc", w->dir);
	mkdir(w->sys, 0755);
	mkdir(w->proc, 0755);
	w->busy = 1000;
	w->idle = 1000;
	world_stat(w);
	return 0;
}

static void world_fini(struct world *w)
{
	nftw(w->dir, world_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif /* JPU_TESTS_WORLD_H */
