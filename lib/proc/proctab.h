/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The process table: what /proc lists, kept across ticks. It caches what
 * does not change (ppid until reparenting, starttime, uid) so that a tick
 * re-reads only the processes in a scope; the member sets of trees and
 * users (mset.h) find their new members in it.
 */
#ifndef JPU_PROC_PROCTAB_H
#define JPU_PROC_PROCTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"
#include "proc/pidtab.h"

/* ---- for the engine ---- */

struct jpu_proctab;
int jpu_proctab_new(int procfs_fd, int sysfs_fd, const struct jpu_logger *log,
                    struct jpu_proctab **ret);
struct jpu_proctab *jpu_proctab_free(struct jpu_proctab *t);
/* Advance one tick. The global readdir of /proc (new PIDs get their stat
 * read once) runs only when a consumer needs it: every tick for trees on
 * kernels without /proc/PID/task/TID/children, every 10 ticks (at most
 * ~1 % of a core) for a user summed from /proc, never otherwise. Call once
 * per tick before the tree/user queries. */
int jpu_proctab_refresh(struct jpu_proctab *t);
/* Whether trees find children through /proc/PID/task/TID/children
 * (detected at jpu_proctab_new); tests and the benchmark force either path.
 * Switch only before creating trees. */
void jpu_proctab_set_children(struct jpu_proctab *t, bool on);
bool jpu_proctab_children(const struct jpu_proctab *t);

/* How many member fds a table may keep open, from RLIMIT_NOFILE as it is
 * when the table is made (proctab.c). */
unsigned jpu_proc_fd_budget(void);

/* ---- for the member sets (mset.c, tree.c, user.c) ---- */

#define JPU_DENTS_BUF 32768 /* getdents64 buffer (jpu_proctab.dents) */

struct jpu_pt_entry {
	pid_t pid;
	pid_t ppid;
	uid_t uid;
	uint32_t gen;
	uint64_t starttime;
	uint64_t first_scan; /* number of the pass that first listed it */
};

struct jpu_proctab {
	int procfs_fd, sysfs_fd; /* borrowed */
	int dir_fd;              /* owned: "." of procfs, rewound per scan */
	const struct jpu_logger *log;
	struct jpu_pidtab tab; /* of struct jpu_pt_entry */
	pid_t *fresh;          /* PIDs first seen by the last scan, by starttime */
	size_t n_fresh, cap_fresh;
	pid_t *scratch; /* sweep list */
	size_t cap_scratch;
	char *dents;                        /* JPU_DENTS_BUF bytes, shared by readdirs */
	uint32_t gen;                       /* refresh calls */
	uint32_t scan_gen;                  /* gen of the last actual scan */
	uint64_t scans;                     /* number of scans */
	unsigned scanners;                  /* consumers that need the global scan every tick */
	unsigned lazy;                      /* consumers that need it now and then (users) */
	uint64_t scan_end_ns, scan_cost_ns; /* CLOCK_MONOTONIC, last pass */
	unsigned fds_left;                  /* member fds that may still be kept open */
	bool children;                      /* /proc/PID/task/TID/children exists */
	bool real_proc;                     /* a procfs mount, not a fixture tree */
};

/* (Re)read what the table caches about e->pid. -ENOENT/-ESRCH when gone. */
int jpu_proctab_load(struct jpu_proctab *t, struct jpu_pt_entry *e);
/* One pass over /proc: new PIDs join the table (and t->fresh), vanished
 * ones leave it. */
int jpu_proctab_scan(struct jpu_proctab *t);
/* Make sure the table reflects this tick (a consumer created between
 * refreshes, or the table skipped scans while nobody needed them). */
int jpu_proctab_ensure(struct jpu_proctab *t);
/* Lazy scans: whether the duty cycle allows a pass now. */
bool jpu_proctab_scan_in_budget(const struct jpu_proctab *t);
/* qsort_r comparator of pids by the starttime the table holds (`tab` is
 * &t->tab): parents sort before their children. */
int jpu_proctab_by_start(const void *a, const void *b, void *tab);

#endif /* JPU_PROC_PROCTAB_H */
