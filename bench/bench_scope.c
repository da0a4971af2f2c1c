/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cost per tick of the procfs layer for each scope (the acceptance
 * criteria of lib/proc/): system (host CPU + meminfo), process (a tree
 * of this bench's own children, both discovery paths), user (a uid's
 * processes summed from /proc, and the same from a cgroup v1 file).
 *
 *   bench_scope [--ticks T] [--procs N] [--user-uid U] [--user-procs K]
 *   bench_scope --spawner N --uid U     fork N sleeping processes of uid U,
 *                                       print "ready", exit on stdin EOF
 *
 * --procs N spawns N unrelated sleeping processes (uid 65534) for the run;
 * bench/bench_scopes.py spawns them itself so that psutil measures the same
 * machine. One JSON object per line on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "proc/procfile.h"
#include "proc/proctab.h"
#include "proc/tree.h"
#include "proc/user.h"

#define TREE_CHILDREN 8

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench_scope: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

/* Fork n children of uid that sleep until killed (pids into `out` when
 * not NULL). Their parent is this process. */
static void spawn_sleepers(unsigned n, uid_t uid, pid_t *out)
{
	for (unsigned i = 0; i < n; i++) {
		pid_t p = fork();

		if (p < 0)
			die("fork (raise ulimit -u / kernel.pid_max)", errno);
		if (p == 0) {
			if (uid != getuid() && setuid(uid) < 0)
				_exit(1);
			for (;;)
				pause();
		}
		if (out)
			out[i] = p;
	}
}

/* --spawner: a process group of sleepers that lives until stdin closes */
static int spawner(unsigned n, uid_t uid)
{
	char c;

	/* a group of its own, so that one kill() ends exactly its sleepers */
	setpgid(0, 0);
	spawn_sleepers(n, uid, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	signal(SIGTERM, SIG_IGN);
	kill(0, SIGTERM);
	while (wait(NULL) > 0)
		;
	return 0;
}

/* Start a spawner detached from this process (double fork), so its
 * sleepers are unrelated to the tree rooted here. Returns a pipe fd whose
 * closing ends them. */
static int start_detached(unsigned n, uid_t uid)
{
	int in[2], out[2];
	char buf[64];
	pid_t p;
	ssize_t r;

	if (pipe(in) < 0 || pipe(out) < 0)
		die("pipe", errno);
	p = fork();
	if (p < 0)
		die("fork", errno);
	if (p == 0) {
		if (fork() != 0)
			_exit(0);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		_exit(spawner(n, uid));
	}
	waitpid(p, NULL, 0);
	close(in[0]);
	close(out[1]);
	r = read(out[0], buf, sizeof buf - 1);
	if (r <= 0)
		die("spawner did not start", EIO);
	close(out[0]);
	return in[1];
}

struct result {
	const char *scope, *mode;
	double us_per_tick;
	unsigned members;
};

static void report(const struct result *r, unsigned procs)
{
	printf("{\"scope\": \"%s\", \"mode\": \"%s\", \"us_per_tick\": %.2f, \"members\": %u, "
	       "\"procs_on_machine\": %u}\n",
	       r->scope, r->mode, r->us_per_tick, r->members, procs);
	fflush(stdout);
}

/* The global /proc pass alone: what the scan path pays before any member */
static double bench_refresh(int procfs, unsigned ticks)
{
	struct jpu_proctab *t;
	struct jpu_tree *tree;
	uint64_t t0;
	int r;

	r = jpu_proctab_new(procfs, -1, NULL, &t);
	if (r < 0)
		die("proctab", r);
	/* a tree without the children files makes the table scan every tick
	 * (a user only scans now and then) */
	jpu_proctab_set_children(t, false);
	r = jpu_tree_new(t, getpid(), &tree);
	if (r < 0)
		die("tree", r);
	t0 = now_ns();
	for (unsigned i = 0; i < ticks; i++) {
		r = jpu_proctab_refresh(t);
		if (r < 0)
			die("refresh", r);
	}
	t0 = now_ns() - t0;
	jpu_tree_free(tree);
	jpu_proctab_free(t);
	return (double)t0 / 1000.0 / ticks;
}

/* Peak RSS of this image (VmHWM): unlike ru_maxrss it is not inherited
 * across execve from a bigger parent (python). */
static long vm_hwm_kb(void)
{
	char buf[4096];
	const char *p, *end;
	ssize_t n = jpu_read_at(AT_FDCWD, "/proc/self/status", buf, sizeof buf);
	uint64_t v;

	if (n < 0)
		return -1;
	p = strstr(buf, "VmHWM:");
	if (!p)
		return -1;
	p += 6;
	end = buf + n;
	return jpu_next_u64(&p, end, &v) == 0 ? (long)v : -1;
}

static double bench_system(int procfs, unsigned ticks)
{
	struct jpu_host_cpu h;
	uint64_t total, used, t0;
	int r;

	t0 = now_ns();
	for (unsigned i = 0; i < ticks; i++) {
		r = jpu_proc_host_cpu(procfs, &h);
		if (r < 0)
			die("/proc/stat", r);
		r = jpu_proc_meminfo(procfs, &total, &used);
		if (r < 0)
			die("/proc/meminfo", r);
	}
	return (double)(now_ns() - t0) / 1000.0 / ticks;
}

static double bench_tree(int procfs, unsigned ticks, bool children, unsigned *members)
{
	struct jpu_proctab *t;
	struct jpu_tree *tree;
	uint64_t v, rss, t0;
	int r;

	r = jpu_proctab_new(procfs, -1, NULL, &t);
	if (r < 0)
		die("proctab", r);
	if (children && !jpu_proctab_children(t))
		return -1;
	jpu_proctab_set_children(t, children);
	r = jpu_proctab_refresh(t);
	if (r < 0)
		die("refresh", r);
	r = jpu_tree_new(t, getpid(), &tree);
	if (r < 0)
		die("tree", r);
	t0 = now_ns();
	for (unsigned i = 0; i < ticks; i++) {
		r = jpu_proctab_refresh(t);
		if (r < 0)
			die("refresh", r);
		r = jpu_tree_update(tree, &v, &rss);
		if (r < 0)
			die("tree update", r);
	}
	t0 = now_ns() - t0;
	*members = 0;
	for (pid_t p = 1; p < 4194304; p++) {
		if (jpu_tree_contains(tree, p))
			(*members)++;
	}
	jpu_tree_free(tree);
	jpu_proctab_free(t);
	return (double)t0 / 1000.0 / ticks;
}

/* Returns the whole tick; *ret_update_us the user update alone (the
 * per-member part), *ret_members the processes it counted. */
static double bench_user(int procfs, int sysfs, uid_t uid, unsigned ticks, const char **method,
                         double *ret_update_us, unsigned *ret_members)
{
	struct jpu_proctab *t;
	struct jpu_user *u;
	uint64_t v, rss, t0, t1, upd = 0;
	int r;

	r = jpu_proctab_new(procfs, sysfs, NULL, &t);
	if (r < 0)
		die("proctab", r);
	r = jpu_proctab_refresh(t);
	if (r < 0)
		die("refresh", r);
	r = jpu_user_new(t, uid, &u);
	if (r < 0)
		die("user", r);
	*method = jpu_user_method(u);
	t0 = now_ns();
	for (unsigned i = 0; i < ticks; i++) {
		r = jpu_proctab_refresh(t);
		if (r < 0)
			die("refresh", r);
		t1 = now_ns();
		r = jpu_user_update(u, &v, &rss);
		if (r < 0)
			die("user update", r);
		upd += now_ns() - t1;
	}
	t0 = now_ns() - t0;
	*ret_members = 0;
	for (pid_t p = 1; p < 4194304; p++) {
		if (jpu_user_contains(u, p))
			(*ret_members)++;
	}
	jpu_user_free(u);
	jpu_proctab_free(t);
	*ret_update_us = (double)upd / 1000.0 / ticks;
	return (double)t0 / 1000.0 / ticks;
}

/* A sysfs root with a cgroup v1 cpuacct file for uid, to time the O(1)
 * path on machines (like CI VMs) without a user slice. */
static int fake_cgroup_root(char *dir, size_t size, uid_t uid)
{
	char path[256];
	int fd;

	snprintf(dir, size, "/tmp/jpu-bench-sys-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(path, sizeof path, "%s/fs", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fs/cgroup", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fs/cgroup/cpuacct", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fs/cgroup/cpuacct/user.slice", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fs/cgroup/cpuacct/user.slice/user-%u.slice", dir,
	         (unsigned)uid);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fs/cgroup/cpuacct/user.slice/user-%u.slice/cpuacct.usage",
	         dir, (unsigned)uid);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "123456789000\n", 13) != 13)
		return -EIO;
	close(fd);
	snprintf(path, sizeof path, "%s/fs/cgroup/memory", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fs/cgroup/memory/user.slice", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fs/cgroup/memory/user.slice/user-%u.slice", dir,
	         (unsigned)uid);
	mkdir(path, 0755);
	snprintf(path, sizeof path,
	         "%s/fs/cgroup/memory/user.slice/user-%u.slice/memory.usage_in_bytes", dir,
	         (unsigned)uid);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "1048576\n", 8) != 8)
		return -EIO;
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned ticks = 200, procs = 0, user_procs = 100, spawn_n = 0, members = 0;
	uid_t uid = 65534, user_uid = 4243;
	bool is_spawner = false;
	int procfs, sysfs, unrel_fd = -1, user_fd = -1;
	struct result res;
	const char *method;
	char sysdir[64];
	pid_t tree_kids[TREE_CHILDREN];
	struct rusage ru;
	double us, upd_us, refresh_us;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x;

		if (!v || jpu_parse_u64(v, strlen(v), &x) < 0 || x > 10000000) {
			fprintf(stderr, "usage: bench_scope [--ticks T] [--procs N] [--user-uid U] "
			                "[--user-procs K] | --spawner N --uid U\n");
			return 2;
		}
		i++;
		if (strcmp(a, "--ticks") == 0 && x > 0) {
			ticks = (unsigned)x;
		} else if (strcmp(a, "--procs") == 0) {
			procs = (unsigned)x;
		} else if (strcmp(a, "--user-uid") == 0) {
			user_uid = (uid_t)x;
		} else if (strcmp(a, "--user-procs") == 0) {
			user_procs = (unsigned)x;
		} else if (strcmp(a, "--spawner") == 0) {
			is_spawner = true;
			spawn_n = (unsigned)x;
		} else if (strcmp(a, "--uid") == 0) {
			uid = (uid_t)x;
		} else {
			fprintf(stderr, "bench_scope: unknown option %s\n", a);
			return 2;
		}
	}
	if (is_spawner)
		return spawner(spawn_n, uid);

	procfs = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfs < 0)
		die("/proc", errno);
	if (procs > 0)
		unrel_fd = start_detached(procs, 65534);
	if (user_procs > 0)
		user_fd = start_detached(user_procs, user_uid);
	/* the measured tree: this process and its sleeping children */
	spawn_sleepers(TREE_CHILDREN, getuid(), tree_kids);

	res = (struct result){"system", "procfs", bench_system(procfs, ticks), 0};
	report(&res, procs);
	us = bench_tree(procfs, ticks, true, &members);
	if (us >= 0) {
		res = (struct result){"process", "children", us, members};
		report(&res, procs);
	}
	us = bench_tree(procfs, ticks, false, &members);
	res = (struct result){"process", "scan", us, members};
	report(&res, procs);
	refresh_us = bench_refresh(procfs, ticks);
	res = (struct result){"refresh", "scan", refresh_us, 0};
	report(&res, procs);
	us = bench_user(procfs, -1, user_uid, ticks, &method, &upd_us, &members);
	res = (struct result){"user", method, us, members};
	report(&res, procs);
	res = (struct result){"user-update", method, upd_us, members};
	report(&res, procs);
	/* The loop above ticks back to back, so the lazy pass runs at its duty
	 * limit (1 % of the time). At the engine's 1 s interval it runs every
	 * USER_SCAN_TICKS (10) ticks, or every 100 x its cost when that is
	 * longer: its share per tick, added to a tick without a pass (the
	 * user update, which re-reads the members), is what a 1 s tick costs. */
	{
		double every = refresh_us * 100.0 / 1e6 > 10.0 ? refresh_us * 100.0 / 1e6 : 10.0;

		res = (struct result){"user-1s", "procfs-amortised", upd_us + refresh_us / every,
		                      members};
		report(&res, procs);
	}
	if (fake_cgroup_root(sysdir, sizeof sysdir, user_uid) == 0) {
		sysfs = open(sysdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		us = bench_user(procfs, sysfs, user_uid, ticks, &method, &upd_us, &members);
		res = (struct result){"user", method, us, members};
		report(&res, procs);
		close(sysfs);
		{
			char cmd[128];

			snprintf(cmd, sizeof cmd, "rm -rf %s", sysdir);
			if (system(cmd) != 0)
				fprintf(stderr, "bench_scope: could not remove %s\n", sysdir);
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"max_rss_kb\": %ld, \"ru_maxrss_kb\": %ld, \"procs_on_machine\": %u}\n",
	       vm_hwm_kb(), ru.ru_maxrss, procs);

	for (unsigned i = 0; i < TREE_CHILDREN; i++) {
		kill(tree_kids[i], SIGKILL);
		waitpid(tree_kids[i], NULL, 0);
	}
	if (unrel_fd >= 0)
		close(unrel_fd);
	if (user_fd >= 0)
		close(user_fd);
	close(procfs);
	return 0;
}
