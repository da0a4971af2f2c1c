/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A synthetic machine for engine tests through the public API: a
 * throw-away sysfs and procfs rewritten between samples (files written in
 * place: counters may be held open) and replaced clocks, so every figure
 * is known exactly.
 */
#ifndef JPU_TESTS_WORLD_H
#define JPU_TESTS_WORLD_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"
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

/* The machine: host CPU ticks (2 CPUs) and memory, in /proc/stat and meminfo. */
struct world {
	char dir[64], sys[96], proc[96];
	uint64_t busy, idle, steal;
	uint64_t mem_total_kb, mem_avail_kb;
};

/* A process: CPU ticks, resident pages, owner. */
struct world_process {
	int pid, ppid;
	uint64_t utime, rss_pages;
	unsigned uid;
};

static void world_stat(struct world *w)
{
	char buf[256];

	/* user nice system idle iowait irq softirq steal guest guest_nice */
	snprintf(buf, sizeof buf,
	         "cpu  %llu 0 0 %llu 0 0 0 %llu 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n"
	         "cpu1 0 0 0 0 0 0 0 0 0 0\nbtime 1\n",
	         (unsigned long long)w->busy, (unsigned long long)w->idle,
	         (unsigned long long)w->steal);
	world_put(w->proc, "stat", buf);
	snprintf(buf, sizeof buf, "MemTotal: %llu kB\nMemFree: 1 kB\nMemAvailable: %llu kB\n",
	         (unsigned long long)w->mem_total_kb, (unsigned long long)w->mem_avail_kb);
	world_put(w->proc, "meminfo", buf);
}

static void world_put_process(struct world *w, const struct world_process *p)
{
	char rel[64], buf[512];

	snprintf(rel, sizeof rel, "%d/stat", p->pid);
	snprintf(buf, sizeof buf,
	         "%d (p%d) S %d %d %d 0 -1 0 0 0 0 0 %llu 0 0 0 20 0 1 0 %d 1000 %llu 0\n", p->pid,
	         p->pid, p->ppid, p->pid, p->pid, (unsigned long long)p->utime, p->pid,
	         (unsigned long long)p->rss_pages);
	world_put(w->proc, rel, buf);
	snprintf(rel, sizeof rel, "%d/status", p->pid);
	snprintf(buf, sizeof buf, "Uid:\t%u\t%u\t%u\t%u\n", p->uid, p->uid, p->uid, p->uid);
	world_put(w->proc, rel, buf);
	/* the uid of a process is its /proc/PID directory's owner (as the
	 * kernel sets it): root may give the fixture's one away */
	snprintf(buf, sizeof buf, "%s/%d", w->proc, p->pid);
	if (p->uid && chown(buf, p->uid, 0) < 0)
		fprintf(stderr, "chown %s: %s\n", buf, strerror(errno));
}

/* a process of uid 0 with utime ticks and 64 resident pages */
__attribute__((unused)) static void world_proc(struct world *w, int pid, int ppid, uint64_t utime)
{
	const struct world_process p = {pid, ppid, utime, 64, 0};

	world_put_process(w, &p);
}

/* the fake backend's domains (lib/sensors/fake.c) */
__attribute__((unused)) static void world_domains(struct world *w, const char *text)
{
	world_put(w->sys, "fake/domains", text);
}

/* An engine on the world's fake backend and clocks, keeping 4 samples. */
__attribute__((unused)) static jpu_engine *world_engine(struct world *w, enum jpu_scope scope,
                                                        pid_t pid, enum jpu_idle_policy policy,
                                                        const char *state)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_engine *e = NULL;
	int r;

	o.sysfs_root = w->sys;
	o.procfs_root = w->proc;
	o.sensors = "fake";
	o.scope = scope;
	o.pid = pid;
	o.idle_policy = policy;
	o.history_len = 4;
	o.state_file = state;
	r = jpu_engine_new(&o, &e);
	CHECK_EQ_INT(r, 0);
	if (r == 0)
		jpu_engine_set_clocks(e, world_clock_mono, world_clock_real);
	return e;
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
	w->steal = 0;
	w->mem_total_kb = 4096;
	w->mem_avail_kb = 2048;
	world_stat(w);
	return 0;
}

static void world_fini(struct world *w)
{
	nftw(w->dir, world_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif /* JPU_TESTS_WORLD_H */
