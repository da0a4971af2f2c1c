/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Added scopes (jpu_scope_add and the rest): users, process trees and
 * cgroups accounted in the engine's tick beside its own scope, on a
 * synthetic machine (the fake backend, a throw-away /proc and cgroup
 * tree, replaced clocks: every figure known exactly) and on real cgroups
 * made by the test when it runs as root (v1 cpuacct and the v2 hierarchy).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"
#include "world.h"

static void sleep_usec(long usec)
{
	struct timespec ts = {usec / 1000000, (usec % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

static char *scope_json(jpu_engine *e, const char *key)
{
	char *j = NULL;

	CHECK_EQ_INT(jpu_scope_json(e, key, &j), 0);
	return j ? j : strdup("");
}

/* one v2 cgroup of the fixture: cumulative CPU time and memory now */
static void w_cgroup(struct world *w, const char *path, uint64_t usage_usec, uint64_t mem)
{
	char rel[256], buf[256];

	snprintf(rel, sizeof rel, "fs/cgroup%s/cpu.stat", path);
	snprintf(buf, sizeof buf, "usage_usec %llu\nuser_usec 0\nsystem_usec 0\n",
	         (unsigned long long)usage_usec);
	world_put(w->sys, rel, buf);
	snprintf(rel, sizeof rel, "fs/cgroup%s/memory.current", path);
	snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)mem);
	world_put(w->sys, rel, buf);
}

static const char *const two_parts_t0 = "package package-0 energy_uj=1000000\n"
                                        "dram dram energy_uj=0\n";
/* 10 W package, 2 W DRAM over 1 s */
static const char *const two_parts_t1 = "package package-0 energy_uj=11000000\n"
                                        "dram dram energy_uj=2000000\n";

static jpu_scope_spec cgroup_spec(const char *path, unsigned history_len)
{
	jpu_scope_spec sp = {.sz = sizeof sp};

	sp.scope = JPU_SCOPE_CGROUP;
	sp.cgroup = path;
	sp.history_len = history_len;
	sp.prometheus = 1;
	return sp;
}

/* What the API refuses, and the answers before a scope's first tick. */
static jpu_engine *e_now; /* tick_once()'s */

static void test_errors(void)
{
	struct world w;
	jpu_engine *e;
	jpu_scope_spec sp = {.sz = sizeof sp};
	jpu_summary s = {.sz = sizeof s};
	char *j = NULL;

	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, two_parts_t0);
	w_cgroup(&w, "/a", 0, 0);
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	CHECK_EQ_INT(jpu_scope_from_string("cgroup"), JPU_SCOPE_CGROUP);
	CHECK_STR(jpu_scope_to_string(JPU_SCOPE_CGROUP), "cgroup");
	sp.scope = JPU_SCOPE_SYSTEM;
	CHECK_EQ_INT(jpu_scope_add(e, "s", &sp), -EINVAL);
	sp = cgroup_spec("/a", 0);
	CHECK_EQ_INT(jpu_scope_add(e, "", &sp), -EINVAL);
	CHECK_EQ_INT(jpu_scope_add(e, "a b", &sp), -EINVAL);
	CHECK_EQ_INT(jpu_scope_add(e, NULL, &sp), -EINVAL);
	CHECK_EQ_INT(jpu_scope_add(e, "a", NULL), -EINVAL);
	sp.cgroup = "a";
	CHECK_EQ_INT(jpu_scope_add(e, "a", &sp), -EINVAL);
	sp.cgroup = "/nope";
	CHECK_EQ_INT(jpu_scope_add(e, "a", &sp), -ENOENT);
	sp.cgroup = "/a";
	sp.labels[0][0] = "0bad";
	sp.labels[0][1] = "x";
	CHECK_EQ_INT(jpu_scope_add(e, "a", &sp), -EINVAL);
	sp.labels[0][0] = "scope";
	CHECK_EQ_INT(jpu_scope_add(e, "a", &sp), -EINVAL);
	sp.labels[0][0] = "pod";
	sp.labels[1][0] = "pod";
	sp.labels[1][1] = "y";
	CHECK_EQ_INT(jpu_scope_add(e, "a", &sp), -EINVAL);
	sp.labels[1][0] = sp.labels[1][1] = NULL;
	sp.scope = JPU_SCOPE_PROCESS;
	sp.pid = 4242;
	CHECK_EQ_INT(jpu_scope_add(e, "p", &sp), -ESRCH);
	sp = cgroup_spec("/a", 0);
	CHECK_EQ_INT(jpu_scope_add(e, "a", &sp), 0);
	CHECK_EQ_INT(jpu_scope_add(e, "a", &sp), -EEXIST);
	CHECK_EQ_INT(jpu_scope_json(e, "a", &j), -EAGAIN);
	CHECK_EQ_INT(jpu_scope_json(e, "b", &j), -ENOENT);
	CHECK_EQ_INT(jpu_scope_history_json(e, "a", 0, &j), -ENODATA);
	CHECK_EQ_INT(jpu_scope_summary(e, "a", &s), 0);
	CHECK_EQ_INT(s.seq, 0);
	CHECK_EQ_INT(jpu_scope_summary(e, "b", &s), -ENOENT);
	CHECK_EQ_INT(jpu_scope_remove(e, "b"), -ENOENT);
	CHECK_EQ_INT(jpu_scope_remove(e, "a"), 0);
	CHECK_EQ_INT(jpu_scope_remove(e, "a"), -ENOENT);
	/* a removed key may be added again at once */
	CHECK_EQ_INT(jpu_scope_add(e, "a", &sp), 0);
	jpu_engine_free(e);
	world_fini(&w);
}

/* Two cgroups and the rest of the machine (a third cgroup holding the
 * remaining busy time) plus the unattributed idle sum to the machine; each
 * figure is the engine's arithmetic: CPU time over host busy time (cgroup
 * ns turned into USER_HZ ticks), DRAM by memory. */
static void test_cgroups_conservation(void)
{
	struct world w;
	jpu_engine *e;
	jpu_scope_spec sp;
	jpu_summary a = {.sz = sizeof a}, b = {.sz = sizeof b}, c = {.sz = sizeof c};
	jpu_summary sys = {.sz = sizeof sys};
	uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK), sum;
	char *j;

	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, two_parts_t0);
	/* memory in use: 4096 - 2048 kB = 2 MiB; a 1/4, b 1/2, rest 1/4 */
	w_cgroup(&w, "/kubepods/pod-a", 5000000, 524288);
	w_cgroup(&w, "/kubepods/pod-b", 7000000, 1048576);
	w_cgroup(&w, "/system.slice", 1000000, 524288);
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	sp = cgroup_spec("/kubepods/pod-a", 4);
	CHECK_EQ_INT(jpu_scope_add(e, "pod-a", &sp), 0);
	sp = cgroup_spec("/kubepods/pod-b", 0);
	CHECK_EQ_INT(jpu_scope_add(e, "pod-b", &sp), 0);
	sp = cgroup_spec("/system.slice", 0);
	CHECK_EQ_INT(jpu_scope_add(e, "rest", &sp), 0);
	CHECK_EQ_INT(jpu_engine_sample(e), 0); /* baseline */
	world_advance(1000000);
	/* 1 s on a machine of hz ticks a second: 100 busy of 200 in all;
	 * the cgroups ran 30 %, 50 % and 20 % of the busy time */
	w.busy += 100;
	w.idle += 100;
	world_stat(&w);
	w_cgroup(&w, "/kubepods/pod-a", 5000000 + 30 * 1000000 / hz, 524288);
	w_cgroup(&w, "/kubepods/pod-b", 7000000 + 50 * 1000000 / hz, 1048576);
	w_cgroup(&w, "/system.slice", 1000000 + 20 * 1000000 / hz, 524288);
	world_domains(&w, two_parts_t1);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_engine_summary(e, &sys), 0);
	CHECK_EQ_INT(jpu_scope_summary(e, "pod-a", &a), 0);
	CHECK_EQ_INT(jpu_scope_summary(e, "pod-b", &b), 0);
	CHECK_EQ_INT(jpu_scope_summary(e, "rest", &c), 0);
	CHECK_EQ_INT(a.seq, 1);
	/* active 5 W of the package: a 1.5, b 2.5, rest 1; DRAM active 1 W:
	 * a 0.25, b 0.5, rest 0.25; idle 5 + 1 W reported apart */
	CHECK_EQ_U64(a.cpu_usage_uw, 1750000);
	CHECK_EQ_U64(b.cpu_usage_uw, 3000000);
	CHECK_EQ_U64(c.cpu_usage_uw, 1250000);
	CHECK_EQ_U64(a.cpu_idle_uw, 6000000);
	CHECK(a.share > 0.299 && a.share < 0.301);
	sum = a.cpu_usage_uw + b.cpu_usage_uw + c.cpu_usage_uw + a.cpu_idle_uw;
	CHECK(sum * 100 >= sys.cpu_total_uw * 99 && sum * 100 <= sys.cpu_total_uw * 101);
	CHECK_EQ_U64(sys.cpu_total_uw, 12000000);
	/* energy per scope: 1 s at those figures */
	CHECK_EQ_U64(a.energy_uj, 1750000);
	CHECK_EQ_U64(b.energy_uj, 3000000);
	j = scope_json(e, "pod-a");
	CHECK(strstr(j, "\"scope\":\"cgroup\",\"key\":\"pod-a\",\"alive\":true,"
	                "\"cgroup\":\"/kubepods/pod-a\"") != NULL);
	CHECK(strstr(j, "\"cpu\":{\"usage\":1.750000,") != NULL);
	CHECK(strstr(j, "\"energy_j\":{\"cpu\":1.500000,\"dram\":0.250000,\"total\":1.750000}") !=
	      NULL);
	free(j);
	CHECK_EQ_INT(jpu_scope_history_json(e, "pod-a", 0, &j), 0);
	CHECK(j && strstr(j, "\"samples\":[{\"time\":") && strstr(j, "\"cpu\":1.750000"));
	free(j);
	/* the engine's own sample is untouched by the added scopes */
	CHECK_EQ_U64(sys.cpu_usage_uw, 12000000);
	/* removed: gone from the API, its totals in the past totals */
	CHECK_EQ_INT(jpu_scope_remove(e, "pod-b"), 0);
	CHECK_EQ_INT(jpu_scope_summary(e, "pod-b", &b), -ENOENT);
	CHECK_EQ_U64(e->past_energy.cpu_uj + e->past_energy.dram_uj, 3000000);
	world_advance(1000000);
	w.busy += 100;
	w.idle += 100;
	world_stat(&w);
	world_domains(&w, "package package-0 energy_uj=21000000\ndram dram energy_uj=4000000\n");
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_scope_summary(e, "pod-a", &a), 0);
	CHECK_EQ_INT(a.seq, 2);
	/* no CPU time this interval: DRAM by memory only */
	CHECK_EQ_U64(a.cpu_usage_uw, 250000);
	CHECK_EQ_U64(a.energy_uj, 2000000);
	jpu_engine_free(e);
	world_fini(&w);
}

/* One USER scope per uid and a PROCESS scope, on the fixture /proc (no
 * per-user cgroup: the per-process sum). meson: scopes_other_uids; SKIP
 * where the fixture processes cannot be given other uids. */
static int test_users_and_process(void)
{
	struct world w;
	struct world_process a = {100, 1, 0, 128, 1000}, a1 = {101, 100, 0, 128, 1000},
	                     b = {200, 1, 0, 256, 1001};
	jpu_engine *e;
	jpu_scope_spec sp = {.sz = sizeof sp};
	jpu_summary ua = {.sz = sizeof ua}, ub = {.sz = sizeof ub}, pa = {.sz = sizeof pa};
	char *j;

	if (geteuid() != 0)
		return check_skip("not root: fixture processes cannot belong to other uids");
	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, two_parts_t0);
	world_put_process(&w, &a);
	world_put_process(&w, &a1);
	world_put_process(&w, &b);
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	sp.scope = JPU_SCOPE_USER;
	sp.uid = 1000;
	CHECK_EQ_INT(jpu_scope_add(e, "user/1000", &sp), 0);
	sp.uid = 1001;
	CHECK_EQ_INT(jpu_scope_add(e, "user/1001", &sp), 0);
	sp.scope = JPU_SCOPE_PROCESS;
	sp.pid = 101;
	CHECK_EQ_INT(jpu_scope_add(e, "tree-101", &sp), 0);
	CHECK_EQ_INT(jpu_engine_sample(e), 0);
	world_advance(1000000);
	w.busy += 100;
	w.idle += 100;
	world_stat(&w);
	a.utime += 10;
	a1.utime += 20;
	b.utime += 50;
	world_put_process(&w, &a);
	world_put_process(&w, &a1);
	world_put_process(&w, &b);
	world_domains(&w, two_parts_t1);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_scope_summary(e, "user/1000", &ua), 0);
	CHECK_EQ_INT(jpu_scope_summary(e, "user/1001", &ub), 0);
	CHECK_EQ_INT(jpu_scope_summary(e, "tree-101", &pa), 0);
	/* 30 and 50 of 100 busy ticks of 5 W active */
	CHECK(ua.share > 0.299 && ua.share < 0.301);
	CHECK(ub.share > 0.499 && ub.share < 0.501);
	CHECK(pa.share > 0.199 && pa.share < 0.201);
	/* DRAM: 256 pages of 4 KiB = 1 MiB of 2 MiB in use, and 1 MiB */
	CHECK_EQ_U64(ua.cpu_usage_uw - (uint64_t)(ua.share * 5000000 + 0.5),
	             (uint64_t)(1000000.0 * 256 * (uint64_t)sysconf(_SC_PAGESIZE) / 2097152 + 0.5));
	j = scope_json(e, "user/1001");
	CHECK(strstr(j, "\"scope\":\"user\",\"key\":\"user/1001\",\"alive\":true,\"uid\":1001") !=
	      NULL);
	free(j);
	j = scope_json(e, "tree-101");
	CHECK(strstr(j, "\"scope\":\"process\",\"key\":\"tree-101\",\"alive\":true,\"pid\":101") !=
	      NULL);
	free(j);
	jpu_engine_free(e);
	world_fini(&w);
	return 0;
}

/* A scope's totals cross a restart under its key; a removed key's fold
 * into the past totals. */
static void test_state_restart(void)
{
	struct world w;
	jpu_engine *e;
	jpu_scope_spec sp = cgroup_spec("/job", 0);
	jpu_summary s = {.sz = sizeof s};
	char state[160], *text = NULL;
	FILE *f;
	long n;

	CHECK_EQ_INT(world_init(&w), 0);
	snprintf(state, sizeof state, "%s/state", w.dir);
	world_domains(&w, two_parts_t0);
	w_cgroup(&w, "/job", 0, 1048576);
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, state);
	CHECK_EQ_INT(jpu_scope_add(e, "slurm:job/7", &sp), 0);
	jpu_engine_sample(e);
	world_advance(1000000);
	w.busy += 100;
	w.idle += 100;
	world_stat(&w);
	world_domains(&w, two_parts_t1);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_scope_summary(e, "slurm:job/7", &s), 0);
	/* no CPU time; half the memory in use of 1 W active DRAM */
	CHECK_EQ_U64(s.energy_uj, 500000);
	jpu_engine_free(e);
	f = fopen(state, "r");
	text = calloc(1, 4096);
	n = f && text ? (long)fread(text, 1, 4095, f) : 0;
	if (f)
		fclose(f);
	CHECK(n > 0 && strncmp(text, "jpu-state 4\n", 12) == 0);
	CHECK(strstr(text, "\nkey 0 500000 0 ") != NULL);
	CHECK(strstr(text, " slurm:job/7\n") != NULL);
	free(text);

	/* restart: the key continues its totals */
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, state);
	CHECK_EQ_INT(jpu_scope_summary(e, "slurm:job/7", &s), -ENOENT); /* not added yet */
	CHECK_EQ_INT(jpu_scope_add(e, "slurm:job/7", &sp), 0);
	jpu_engine_sample(e);
	world_advance(1000000);
	w.busy += 100;
	w.idle += 100;
	world_stat(&w);
	world_domains(&w, "package package-0 energy_uj=21000000\ndram dram energy_uj=4000000\n");
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_scope_summary(e, "slurm:job/7", &s), 0);
	CHECK_EQ_U64(s.energy_uj, 1000000);
	CHECK_EQ_INT(jpu_scope_remove(e, "slurm:job/7"), 0);
	CHECK_EQ_U64(e->past_energy.dram_uj, 1000000);
	jpu_engine_free(e);
	world_fini(&w);
}

/* Prometheus: the added scopes' series with their labels, values escaped,
 * accepted by promtool when it is installed. */
static void test_prometheus(void)
{
	struct world w;
	jpu_engine *e;
	jpu_scope_spec sp = cgroup_spec("/a", 0);
	char *text = NULL, cmd[256], path[160];
	FILE *f;

	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, "package package-0 energy_uj=1000000\ndram dram energy_uj=0\n"
	                  "gpu gpu0 energy_uj=0\n");
	w_cgroup(&w, "/a", 0, 0);
	w_cgroup(&w, "/b", 0, 0);
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	sp.labels[0][0] = "pod";
	sp.labels[0][1] = "we\"ird\\pod\nname";
	sp.labels[1][0] = "namespace";
	sp.labels[1][1] = "jhub";
	CHECK_EQ_INT(jpu_scope_add(e, "pod-a", &sp), 0);
	sp = cgroup_spec("/b", 0);
	sp.prometheus = 0;
	CHECK_EQ_INT(jpu_scope_add(e, "pod-b", &sp), 0);
	jpu_engine_sample(e);
	world_advance(1000000);
	world_domains(&w, "package package-0 energy_uj=11000000\ndram dram energy_uj=2000000\n"
	                  "gpu gpu0 energy_uj=30000000\n");
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_engine_prometheus(e, &text), 0);
	/* the node's zones and GPU devices, whatever the scope */
	CHECK(text && strstr(text, "\njpu_zone_power_watts{zone=\"package-0\",kind=\"package\","
	                           "id=\"fake:package-0\",source=\"fake\"} 10.000000\n"));
	CHECK(text && strstr(text, "\njpu_zone_energy_joules_total{zone=\"dram\",kind=\"dram\","
	                           "id=\"fake:dram\",source=\"fake\"} 2.000000\n"));
	CHECK(text && strstr(text, "\njpu_gpu_device_power_watts{device=\"gpu0\",id=\"fake:gpu0\","
	                           "source=\"fake\"} "
	                           "30.000000\n"));
	CHECK(text && strstr(text, "\njpu_gpu_device_energy_joules_total{device=\"gpu0\","
	                           "id=\"fake:gpu0\",source=\"fake\"} 30.000000\n"));
	CHECK(text && strstr(text, "{scope=\"system\"") != NULL);
	CHECK(text &&
	      strstr(text, "{scope=\"cgroup\",key=\"pod-a\",pod=\"we\\\"ird\\\\pod\\nname\","
	                   "namespace=\"jhub\"") != NULL);
	CHECK(text && strstr(text, "pod-b") == NULL);
	snprintf(path, sizeof path, "%s/metrics.txt", w.dir);
	f = fopen(path, "w");
	if (f && text) {
		fputs(text, f);
		fclose(f);
	}
	if (system("command -v promtool >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
		CHECK_EQ_INT(system(cmd), 0);
	} else {
		fprintf(stderr, "promtool not installed: metrics not checked by it\n");
	}
	free(text);
	jpu_engine_free(e);
	world_fini(&w);
}

/* The API from the caller's thread while the sampler ticks (the rules of
 * docs/architecture.md: add and remove take only the lock, the tick frees
 * removed entries): run under ThreadSanitizer in CI. */
static void test_while_sampling(void)
{
	struct world w;
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_scope_spec sp = cgroup_spec("/a", 2);
	jpu_engine *e = NULL;
	char *j, *text;
	int added = 0, seen = 0;

	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, two_parts_t0);
	w_cgroup(&w, "/a", 0, 0);
	o.sysfs_root = w.sys;
	o.procfs_root = w.proc;
	o.sensors = "fake";
	o.interval_usec = 10000;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (!e)
		return;
	CHECK_EQ_INT(jpu_engine_start(e), 0);
	for (int i = 0; i < 200; i++) {
		added += jpu_scope_add(e, "a", &sp) == 0;
		if (jpu_scope_json(e, "a", &j) == 0) {
			seen++;
			free(j);
		}
		if (jpu_engine_prometheus(e, &text) == 0)
			free(text);
		if (i % 3 == 0)
			CHECK_EQ_INT(jpu_scope_remove(e, "a"), 0);
		sleep_usec(2000);
	}
	CHECK(added > 60);
	CHECK(seen > 0);
	CHECK_EQ_INT(jpu_engine_stop(e), 0);
	jpu_engine_free(e);
	world_fini(&w);
}

/* ---- real cgroups (root) ---------------------------------------------------- */

static pid_t spin_in(const char *procs_file)
{
	pid_t pid = fork();

	if (pid == 0) {
		FILE *f = fopen(procs_file, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
			_exit(3);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	return pid;
}

/* A busy process in a cgroup made by the test under a real hierarchy
 * (mount is "cpuacct" for v1 or "unified" for v2), its path as
 * /proc/PID/cgroup names it: the scope sees its CPU time (about one core
 * for 0.5 s), the engine the same machine; once the cgroup is removed the
 * scope is not alive. */
static int real_cgroup(const char *mount)
{
	char dir[256], procs[300], cgpath[64], *j;
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_scope_spec sp;
	jpu_summary s = {.sz = sizeof s};
	jpu_engine *e = NULL;
	pid_t child;
	int status;

	snprintf(cgpath, sizeof cgpath, "/jpu-test-scopes-%d", (int)getpid());
	snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s%s", mount, cgpath);
	if (mkdir(dir, 0755) < 0) {
		fprintf(stderr, "%s: cannot make a cgroup (%s)\n", dir, strerror(errno));
		return check_skip("cannot make a cgroup under this hierarchy");
	}
	snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
	child = spin_in(procs);
	o.sensors = "estimate";
	o.ncpu = 2;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	sp = cgroup_spec(cgpath, 0);
	CHECK_EQ_INT(jpu_scope_add(e, "real", &sp), 0);
	sleep_usec(100000);
	jpu_engine_sample(e);
	sleep_usec(500000);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_scope_summary(e, "real", &s), 0);
	/* one spinning process: a share of the busy time well above 0 */
	fprintf(stderr, "%s: share %.3f, cpu %.3f W\n", mount, s.share, s.cpu_usage_uw / 1e6);
	CHECK(s.share > 0.05);
	CHECK(s.cpu_usage_uw > 0);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	sleep_usec(50000);
	CHECK_EQ_INT(rmdir(dir), 0);
	sleep_usec(20000);
	jpu_engine_sample(e);
	j = scope_json(e, "real");
	CHECK(strstr(j, "\"alive\":false") != NULL);
	free(j);
	jpu_engine_free(e);
	return 0;
}

/* history_on_demand: the ring of a scope starts the first time it is read
 * (a node daemon's users that only Prometheus reads keep none); a scope
 * without it keeps its history from the first tick. */
static int count_samples(const char *j)
{
	int n = 0;

	for (const char *p = j; p && (p = strstr(p, "\"time\":")); p++)
		n++;
	return n;
}

static void tick_once(struct world *w, unsigned i)
{
	char text[128];

	world_advance(1000000);
	w->busy += 100;
	w->idle += 100;
	world_stat(w);
	snprintf(text, sizeof text, "package package-0 energy_uj=%u\ndram dram energy_uj=%u\n",
	         1000000 + i * 10000000, i * 2000000);
	world_domains(w, text);
	CHECK_EQ_INT(jpu_engine_sample(e_now), 1);
}

static void test_history_on_demand(void)
{
	struct world w;
	jpu_scope_spec sp;
	char *j = NULL;

	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, two_parts_t0);
	w_cgroup(&w, "/a", 0, 524288);
	w_cgroup(&w, "/b", 0, 524288);
	e_now = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	if (!e_now)
		goto out;
	sp = cgroup_spec("/a", 4);
	sp.history_on_demand = 1;
	CHECK_EQ_INT(jpu_scope_add(e_now, "lazy", &sp), 0);
	sp = cgroup_spec("/b", 4);
	CHECK_EQ_INT(jpu_scope_add(e_now, "eager", &sp), 0);
	CHECK_EQ_INT(jpu_engine_sample(e_now), 0); /* baseline */
	tick_once(&w, 1);
	tick_once(&w, 2);
	/* no ring until now: the first read starts it, empty */
	CHECK(e_now->xscopes[0]->hist == NULL);
	CHECK_EQ_INT(jpu_scope_history_json(e_now, "eager", 0, &j), 0);
	CHECK_EQ_INT(count_samples(j), 2);
	free(j);
	CHECK_EQ_INT(jpu_scope_history_json(e_now, "lazy", 0, &j), 0);
	CHECK(j && strstr(j, "\"samples\":[]"));
	free(j);
	tick_once(&w, 3);
	CHECK_EQ_INT(jpu_scope_history_json(e_now, "lazy", 0, &j), 0);
	CHECK_EQ_INT(count_samples(j), 1);
	free(j);
	/* from then on it fills like the other, up to its length */
	tick_once(&w, 4);
	tick_once(&w, 5);
	CHECK_EQ_INT(jpu_scope_history_json(e_now, "eager", 0, &j), 0);
	CHECK_EQ_INT(count_samples(j), 4); /* the ring's length */
	free(j);
	CHECK_EQ_INT(jpu_scope_history_json(e_now, "lazy", 0, &j), 0);
	CHECK_EQ_INT(count_samples(j), 3);
	free(j);
out:
	e_now = jpu_engine_free(e_now);
	world_fini(&w);
}

int main(int argc, char **argv)
{
	/* parts that need root or a cgroup hierarchy are tests of their own
	 * (meson: scopes_real_cgroup_*, scopes_other_uids) */
	if (argc > 2 && strcmp(argv[1], "--real-cgroup") == 0 &&
	    (strcmp(argv[2], "cpuacct") == 0 || strcmp(argv[2], "unified") == 0)) {
		if (geteuid() != 0)
			return check_part_end(check_skip("not root: cannot make cgroups"));
		return check_part_end(real_cgroup(argv[2]));
	}
	if (argc > 1 && strcmp(argv[1], "--other-uids") == 0)
		return check_part_end(test_users_and_process());
	if (argc > 1)
		return check_bad_part(argv[1]);
	test_errors();
	test_cgroups_conservation();
	test_state_restart();
	test_prometheus();
	test_while_sampling();
	test_history_on_demand();
	return check_summary();
}
