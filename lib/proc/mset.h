/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Member sets: the processes of a tree or of a user, found through the
 * process table (proctab.h) or the children files, re-read each tick, and
 * their CPU time summed monotonically across exits (the rule is at the top
 * of mset.c). A tree (tree.h) and a user (user.h) each embed one.
 */
#ifndef JPU_PROC_MSET_H
#define JPU_PROC_MSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc/pidtab.h"
#include "proc/procfile.h"
#include "proc/proctab.h"

/* 56 bytes: a node daemon keeps one per process of every user it follows
 * (10,000 processes: issue 9's RSS budget). */
struct jpu_member {
	pid_t pid;
	pid_t ppid;
	uint64_t starttime;
	uint64_t total;     /* utime + stime + cutime + cstime at the last read */
	uint64_t ctotal;    /* cutime + cstime at the last read */
	uint64_t expected;  /* ticks of members this one reaped this tick */
	uint32_t cgot;      /* ctotal's growth at this tick's read (saturated) */
	uint32_t rss_pages; /* saturated: 16 TiB of 4 KiB pages */
	uint32_t seen : 31; /* update number (jpu_mset.round) of the last read */
	uint32_t vanished : 1;
	int fd; /* owned: open PID/stat, -1 when not kept */
};

struct jpu_mset {
	struct jpu_proctab *t; /* borrowed */
	struct jpu_pidtab m;   /* of struct jpu_member */
	uint64_t carried;      /* ticks of members gone without a reaper inside */
	uint64_t last_sum;     /* last carried + live sum (never decreases) */
	uint64_t scans_seen;
	uint32_t round; /* 31 bits, as jpu_member.seen */
	bool scanner;   /* uses the table: counted in t->scanners or t->lazy */
	bool lazy;      /* ... in t->lazy: discovers through the pass now and then */
	/* Users: a process that joins after the first update and had started
	 * before it (listed by the pass numbered born_scan or earlier) counts
	 * from when it joins: its total then goes into `discount`. One that
	 * started later counts its whole life, time used before a lazy pass
	 * found it included. */
	bool counting;
	uint64_t born_scan;
	uint64_t discount;
	pid_t *list; /* scratch */
	size_t n_list, cap_list;
};

/* Membership rules: a tree takes children of live members, a user takes
 * processes of its uid. */
struct jpu_mrule {
	bool is_tree;
	pid_t root;
	uid_t uid;
};

/* Close the members' kept fds and empty the set (its sums are kept). */
void jpu_mset_clear(struct jpu_mset *s);
/* Release everything the set holds and its claim on the table's scans. */
void jpu_mset_fini(struct jpu_mset *s);
/* Add pid with its stat (`have`, or read now when NULL). 0 (also when
 * already in), -ESRCH/-ENOENT when gone, -ENOMEM. */
int jpu_mset_add(struct jpu_mset *s, pid_t pid, const struct jpu_pid_stat *have);
/* One tick: find new members by the rule, re-read every member, retire the
 * vanished ones; *ret_sum is the monotonic CPU ticks of the set, *ret_rss
 * the RSS pages of its live members. */
int jpu_mset_update(struct jpu_mset *s, const struct jpu_mrule *rule, uint64_t *ret_sum,
                    uint64_t *ret_rss);

/* Whether pid is a live member (as of the last update). */
static inline bool jpu_mset_live(const struct jpu_mset *s, pid_t pid)
{
	const struct jpu_member *m = jpu_pidtab_find(&s->m, pid);

	return m && !m->vanished;
}

#endif /* JPU_PROC_MSET_H */
