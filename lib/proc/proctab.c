/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The process table of proctab.h.
 *
 * Cost model (DESIGN "Scopes", acceptance benchmark bench/bench_scope.c):
 * a tick must not re-read every process on the machine. The process table
 * does a getdents() pass over /proc and reads /proc/PID/stat only for PIDs
 * it has not seen, caching what never changes (ppid until reparenting,
 * starttime, uid). Only members of a tracked tree or user get their stat
 * re-read each tick (mset.c). Where the kernel has
 * /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN, Documentation/
 * filesystems/proc.rst) a tree finds its children there and needs no pass.
 * A tree without the children files needs the pass every tick; a user summed
 * from /proc needs it only to discover its new processes, so the pass runs
 * for it every USER_SCAN_TICKS ticks and at most SCAN_DUTY_PCT of a core
 * (see "lazy scans" below): O(the user's processes) per tick, the machine
 * only amortised.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "proc/procfile.h"
#include "proc/proctab.h"

#define PROC_MAGIC 0x9fa0 /* PROC_SUPER_MAGIC, include/uapi/linux/magic.h */
/* Members of a tree or user keep their /proc/PID/stat open (a pread per
 * tick instead of openat + pread + close: the open and close were most of
 * a node daemon's CPU time, issue 9) up to a budget per table taken from
 * RLIMIT_NOFILE: half of what the soft limit leaves above FD_RESERVE for
 * the process around us (a Jupyter server's sockets, jpud's connections),
 * at most FD_BUDGET_MAX (each kept fd pins a
 * procfs inode in the kernel). Beyond the budget, members are read with
 * open + pread + close. */
#define FD_RESERVE    512
#define FD_BUDGET_MAX 65536
/* A user summed from /proc discovers processes that are not children of its
 * members (a new login, a cron job) through the global pass, run every this
 * many ticks ... */
#define USER_SCAN_TICKS 10
/* ... and, on a real /proc, no more often than it keeps a core this busy
 * (a pass over 10,000 processes costs milliseconds) */
#define SCAN_DUTY_PCT 1

unsigned jpu_proc_fd_budget(void)
{
	struct rlimit rl;
	rlim_t b;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	/* 1024, the usual soft limit, gives 256; a small one a quarter */
	b = rl.rlim_cur > 2 * FD_RESERVE ? (rl.rlim_cur - FD_RESERVE) / 2 : rl.rlim_cur / 4;
	return b > FD_BUDGET_MAX ? FD_BUDGET_MAX : (unsigned)b;
}

int jpu_proctab_new(int procfs_fd, int sysfs_fd, const struct jpu_logger *log,
                    struct jpu_proctab **ret)
{
	struct jpu_proctab *t;

	t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->dir_fd = -1;
	t->procfs_fd = procfs_fd;
	t->sysfs_fd = sysfs_fd;
	t->log = log;
	t->tab.elsize = sizeof(struct jpu_pt_entry);
	t->dir_fd = openat(procfs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dir_fd < 0) {
		int r = -errno;

		jpu_proctab_free(t);
		return r;
	}
	t->dents = malloc(JPU_DENTS_BUF);
	if (!t->dents) {
		jpu_proctab_free(t);
		return -ENOMEM;
	}
	/* PID 1 exists in every pid namespace; a fixture tree may also carry
	 * the file to exercise this path */
	t->children = faccessat(procfs_fd, "1/task/1/children", F_OK, 0) == 0;
	{
		struct statfs sf;

		/* an open /proc/PID/stat of an exited process reads ESRCH, so
		 * keeping it open is safe; a fixture's regular file would keep
		 * reading the old content after its directory is removed */
		t->real_proc = fstatfs(procfs_fd, &sf) == 0 && sf.f_type == PROC_MAGIC;
		t->fds_left = t->real_proc ? jpu_proc_fd_budget() : 0;
	}
	*ret = t;
	return 0;
}

void jpu_proctab_set_children(struct jpu_proctab *t, bool on)
{
	if (t)
		t->children = on;
}

bool jpu_proctab_children(const struct jpu_proctab *t)
{
	return t && t->children;
}

struct jpu_proctab *jpu_proctab_free(struct jpu_proctab *t)
{
	if (!t)
		return NULL;
	if (t->dir_fd >= 0)
		close(t->dir_fd);
	jpu_pidtab_clear(&t->tab);
	free(t->fresh);
	free(t->scratch);
	free(t->dents);
	free(t);
	return NULL;
}

int jpu_proctab_by_start(const void *a, const void *b, void *tab)
{
	const struct jpu_pt_entry *ea = jpu_pidtab_find(tab, *(const pid_t *)a);
	const struct jpu_pt_entry *eb = jpu_pidtab_find(tab, *(const pid_t *)b);
	uint64_t sa = ea ? ea->starttime : 0, sb = eb ? eb->starttime : 0;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	return *(const pid_t *)a < *(const pid_t *)b ? -1 : *(const pid_t *)a > *(const pid_t *)b;
}

/* (Re)read what the table caches about pid. -ENOENT/-ESRCH when gone. */
int jpu_proctab_load(struct jpu_proctab *t, struct jpu_pt_entry *e)
{
	struct jpu_pid_stat st;
	char name[16];
	struct stat sb;
	int r;

	snprintf(name, sizeof name, "%d", (int)e->pid);
	if (fstatat(t->procfs_fd, name, &sb, 0) < 0)
		return -errno;
	e->uid = sb.st_uid;
	r = jpu_read_pid_stat(t->procfs_fd, e->pid, &st);
	if (r < 0) {
		/* unparseable: keep it in the table (so it is not re-read every
		 * tick) with no parent, so it joins no tree */
		e->ppid = 0;
		e->starttime = 0;
		return jpu_proc_gone(r) ? r : 0;
	}
	e->ppid = st.ppid;
	e->starttime = st.starttime;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int jpu_proctab_scan(struct jpu_proctab *t)
{
	size_t n_stale = 0, i;
	uint32_t gen = t->gen;
	uint64_t t0 = t->real_proc ? mono_ns() : 0;
	int r;

	t->n_fresh = 0;
	if (lseek(t->dir_fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n = getdents64(t->dir_fd, t->dents, JPU_DENTS_BUF);
		ssize_t off;

		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(t->dents + off);
			struct jpu_pt_entry *e;
			uint64_t pid;

			off += d->d_reclen;
			if (d->d_name[0] < '1' || d->d_name[0] > '9' ||
			    jpu_parse_u64(d->d_name, strlen(d->d_name), &pid) < 0 || pid > INT_MAX)
				continue;
			e = jpu_pidtab_find(&t->tab, (pid_t)pid);
			if (e) {
				e->gen = gen;
				continue;
			}
			e = jpu_pidtab_insert(&t->tab, (pid_t)pid);
			if (!e)
				return -ENOMEM;
			e->gen = gen;
			e->first_scan = t->scans + 1;
			r = jpu_proctab_load(t, e);
			if (r < 0) {
				/* exited between readdir and open: not an error */
				jpu_pidtab_remove(&t->tab, (pid_t)pid);
				continue;
			}
			r = jpu_pid_push(&t->fresh, &t->n_fresh, &t->cap_fresh, (pid_t)pid);
			if (r < 0)
				return r;
		}
	}
	/* sweep what the pass did not list */
	for (i = 0; i < t->tab.cap; i++) {
		const struct jpu_pt_entry *e = jpu_pidtab_slot(&t->tab, i);

		if (e->pid != 0 && e->gen != gen) {
			r = jpu_pid_push(&t->scratch, &n_stale, &t->cap_scratch, e->pid);
			if (r < 0)
				return r;
		}
	}
	for (i = 0; i < n_stale; i++)
		jpu_pidtab_remove(&t->tab, t->scratch[i]);
	/* parents start before their children: consumers that walk the
	 * fresh list in this order see a parent join before its child */
	if (t->n_fresh > 1)
		qsort_r(t->fresh, t->n_fresh, sizeof *t->fresh, jpu_proctab_by_start, &t->tab);
	t->scan_gen = gen;
	t->scans++;
	if (t->real_proc) {
		t->scan_end_ns = mono_ns();
		t->scan_cost_ns = t->scan_end_ns - t0;
	}
	return 0;
}

/* Lazy scans: whether the duty cycle allows a pass now. Only on a real
 * /proc, where a pass has a cost worth bounding; a fixture tree is scanned
 * by the tick count alone, so tests are deterministic. */
bool jpu_proctab_scan_in_budget(const struct jpu_proctab *t)
{
	if (!t->real_proc || t->scans == 0)
		return true;
	return mono_ns() - t->scan_end_ns >= t->scan_cost_ns * (100 / SCAN_DUTY_PCT - 1);
}

int jpu_proctab_refresh(struct jpu_proctab *t)
{
	if (!t)
		return -EINVAL;
	t->gen++;
	if (t->gen == 0)
		t->gen = 1;
	/* a tree without the children files finds its children in the pass:
	 * every tick */
	if (t->scanners > 0)
		return jpu_proctab_scan(t);
	/* users need it only for processes that are not children of their
	 * members (which are found when a member reaps one, see
	 * user_discover_now) */
	if (t->lazy > 0 && t->gen - t->scan_gen >= USER_SCAN_TICKS && jpu_proctab_scan_in_budget(t))
		return jpu_proctab_scan(t);
	return 0;
}

/* Make sure the table reflects this tick (a consumer created between
 * refreshes, or the table skipped scans while nobody needed them). */
int jpu_proctab_ensure(struct jpu_proctab *t)
{
	if (t->scans > 0 && t->scan_gen == t->gen)
		return 0;
	if (t->gen == 0)
		t->gen = 1;
	return jpu_proctab_scan(t);
}
