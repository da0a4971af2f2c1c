/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Member sets of mset.h: discovery (from the process table's pass or from
 * /proc/PID/task/TID/children) and accounting.
 *
 * Accounting: the time of a set of processes is
 *   carried + sum over live members of (utime + stime + cutime + cstime).
 * When a member exits and a live member reaps it, the kernel adds its
 * utime+stime+cutime+cstime to the reaper's cutime/cstime
 * (kernel/exit.c, wait_task_zombie), so the sum is continuous. When nobody
 * inside the set reaps it (orphaned to init, the root itself, a parent that
 * ignores SIGCHLD and so auto-reaps) the shortfall is moved to `carried`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc/mset.h"

#define CHILDREN_BUF 8192

static void member_close(struct jpu_mset *s, struct jpu_member *m)
{
	if (m && m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
		s->t->fds_left++;
	}
}

void jpu_mset_clear(struct jpu_mset *s)
{
	for (uint32_t i = 0; i < s->m.cap; i++) {
		struct jpu_member *m = jpu_pidtab_slot(&s->m, i);

		if (m->pid != 0)
			member_close(s, m);
	}
	jpu_pidtab_clear(&s->m);
}

/* Read a member's stat through its kept fd, or open it (and keep it while
 * the budget lasts). */
static int member_read(struct jpu_mset *s, struct jpu_member *m, struct jpu_pid_stat *st)
{
	char buf[JPU_PID_STAT_BUF];
	ssize_t n;
	int r;

	if (m->fd < 0 && s->t->fds_left > 0) {
		char path[32];

		snprintf(path, sizeof path, "%d/stat", (int)m->pid);
		r = jpu_open_at(s->t->procfs_fd, path);
		if (r < 0)
			return r;
		m->fd = r;
		s->t->fds_left--;
	}
	if (m->fd < 0)
		return jpu_read_pid_stat(s->t->procfs_fd, m->pid, st);
	n = jpu_pread_all(m->fd, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	r = jpu_parse_pid_stat(buf, (size_t)n, st);
	if (r < 0)
		return r;
	return st->pid == m->pid ? 0 : -EBADMSG;
}

void jpu_mset_fini(struct jpu_mset *s)
{
	if (s->scanner && s->lazy && s->t->lazy > 0)
		s->t->lazy--;
	else if (s->scanner && !s->lazy && s->t->scanners > 0)
		s->t->scanners--;
	s->scanner = s->lazy = false;
	jpu_mset_clear(s);
	free(s->list);
	s->list = NULL;
	s->n_list = s->cap_list = 0;
}

/* Add pid with its stat read now. 0, -ESRCH/-ENOENT when gone, -ENOMEM. */
int jpu_mset_add(struct jpu_mset *s, pid_t pid, const struct jpu_pid_stat *have)
{
	struct jpu_pid_stat st;
	struct jpu_member *m;
	int r;

	if (jpu_pidtab_find(&s->m, pid))
		return 0;
	if (have) {
		st = *have;
	} else {
		r = jpu_read_pid_stat(s->t->procfs_fd, pid, &st);
		if (r < 0)
			return r;
	}
	m = jpu_pidtab_insert(&s->m, pid);
	if (!m)
		return -ENOMEM;
	m->ppid = st.ppid;
	m->starttime = st.starttime;
	m->total = st.utime + st.stime + st.cutime + st.cstime;
	m->ctotal = st.cutime + st.cstime;
	m->cgot = 0;
	m->rss_pages = st.rss_pages > UINT32_MAX ? UINT32_MAX : (uint32_t)st.rss_pages;
	m->seen = s->round;
	m->fd = -1;
	return 0;
}

static int list_push(struct jpu_mset *s, pid_t pid)
{
	return jpu_pid_push(&s->list, &s->n_list, &s->cap_list, pid);
}

/* A process of the user joins (st: its stat when already read, else NULL).
 * Whether it started before the user's first update is told by the pass
 * that first listed it; one the table never listed started after the
 * last pass, so after the first update. 0, -ESRCH/-ENOENT, -ENOMEM. */
static int user_join(struct jpu_mset *s, pid_t pid, const struct jpu_pid_stat *have)
{
	const struct jpu_pt_entry *e;
	const struct jpu_member *m;
	struct jpu_pid_stat st;
	int r;

	if (jpu_pidtab_find(&s->m, pid))
		return 0;
	if (have) {
		st = *have;
	} else {
		r = jpu_read_pid_stat(s->t->procfs_fd, pid, &st);
		if (r < 0)
			return r;
	}
	r = jpu_mset_add(s, pid, &st);
	if (r < 0)
		return r;
	e = jpu_pidtab_find(&s->t->tab, pid);
	m = jpu_pidtab_find(&s->m, pid);
	if (s->counting && m && e && e->first_scan <= s->born_scan && e->starttime == st.starttime)
		s->discount += m->total;
	return 0;
}

/* Find new members from the process table: the fresh PIDs of the last
 * scan, or the whole table when this set missed a scan. */
static int discover_from_table(struct jpu_mset *s, const struct jpu_mrule *rule)
{
	struct jpu_proctab *t = s->t;
	size_t i;
	int r;

	s->n_list = 0;
	if (t->scans == s->scans_seen)
		return 0;
	if (t->scans == s->scans_seen + 1) {
		for (i = 0; i < t->n_fresh; i++) {
			r = list_push(s, t->fresh[i]);
			if (r < 0)
				return r;
		}
	} else {
		for (i = 0; i < t->tab.cap; i++) {
			const struct jpu_pt_entry *e = jpu_pidtab_slot(&t->tab, i);

			if (e->pid != 0) {
				r = list_push(s, e->pid);
				if (r < 0)
					return r;
			}
		}
		if (s->n_list > 1)
			qsort_r(s->list, s->n_list, sizeof *s->list, jpu_proctab_by_start, &t->tab);
	}
	s->scans_seen = t->scans;
	for (i = 0; i < s->n_list; i++) {
		const struct jpu_pt_entry *e = jpu_pidtab_find(&t->tab, s->list[i]);
		bool join;

		if (!e)
			continue;
		if (!rule->is_tree) {
			if (e->uid != rule->uid)
				continue;
			r = user_join(s, e->pid, NULL);
			if (r == -ENOMEM)
				return r;
			continue;
		}
		join = e->pid == rule->root || (e->ppid > 0 && jpu_mset_live(s, e->ppid));
		if (!join)
			continue;
		r = jpu_mset_add(s, e->pid, NULL);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

/* Parse a children file ("pid pid pid ") and add the ones not yet in (for
 * a user, only those of its uid). */
static int add_children_from(struct jpu_mset *s, const struct jpu_mrule *rule, int dirfd,
                             const char *path, pid_t parent)
{
	char buf[CHILDREN_BUF];
	const char *p, *end;
	ssize_t n;

	n = jpu_read_at(dirfd, path, buf, sizeof buf);
	if (n < 0)
		return jpu_proc_gone((int)n) ? 0 : (int)n;
	p = buf;
	end = buf + n;
	for (;;) {
		struct jpu_pid_stat st;
		uint64_t pid;
		int r;

		if (jpu_next_u64(&p, end, &pid) < 0)
			break;
		if (pid == 0 || pid > INT_MAX || jpu_pidtab_find(&s->m, (pid_t)pid))
			continue;
		r = jpu_read_pid_stat(s->t->procfs_fd, (pid_t)pid, &st);
		if (r < 0 || st.ppid != parent)
			continue;
		if (rule->is_tree) {
			r = jpu_mset_add(s, (pid_t)pid, &st);
		} else {
			char name[16];
			struct stat sb;

			/* /proc/PID is owned by the process's euid
			 * (fs/proc/base.c, task_dump_owner), as in pt_load */
			snprintf(name, sizeof name, "%d", (int)pid);
			if (fstatat(s->t->procfs_fd, name, &sb, 0) < 0 || sb.st_uid != rule->uid)
				continue;
			r = user_join(s, (pid_t)pid, &st);
		}
		if (jpu_proc_gone(r))
			continue;
		if (r < 0)
			return r;
		r = list_push(s, (pid_t)pid);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Children of pid over all its threads: each thread lists the children it
 * forked (fs/proc/array.c, get_children_pid). */
static int add_children(struct jpu_mset *s, const struct jpu_mrule *rule, pid_t pid)
{
	char path[48];
	int dfd, r = 0;

	snprintf(path, sizeof path, "%d/task", (int)pid);
	dfd = openat(s->t->procfs_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return jpu_proc_gone(-errno) ? 0 : -errno;
	for (;;) {
		ssize_t n = getdents64(dfd, s->t->dents, JPU_DENTS_BUF);
		ssize_t off;

		if (n <= 0) {
			if (n < 0)
				r = -errno;
			break;
		}
		for (off = 0; off < n && r >= 0;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(s->t->dents + off);
			char cpath[320];

			off += d->d_reclen;
			if (d->d_name[0] < '1' || d->d_name[0] > '9')
				continue;
			snprintf(cpath, sizeof cpath, "%s/children", d->d_name);
			r = add_children_from(s, rule, dfd, cpath, pid);
		}
		if (r < 0)
			break;
	}
	close(dfd);
	return r;
}

static int discover_children(struct jpu_mset *s, const struct jpu_mrule *rule)
{
	size_t i;
	int r;

	s->n_list = 0;
	for (i = 0; i < s->m.cap; i++) {
		const struct jpu_member *m = jpu_pidtab_slot(&s->m, i);

		if (m->pid != 0 && !m->vanished) {
			r = list_push(s, m->pid);
			if (r < 0)
				return r;
		}
	}
	/* the list grows as children join, so grandchildren are found too */
	for (i = 0; i < s->n_list; i++) {
		r = add_children(s, rule, s->list[i]);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

/* A user's members in s->list reaped children it did not know (their
 * cutime/cstime grew by more than the members that vanished): that time is
 * already in the sum, but the reaper is forking, and a sibling still alive
 * or orphaned to init would only be found by the next lazy pass (and lost if
 * it exits before, reaped outside the user). Look now: in the reapers'
 * children files where there are (cheap: these members only), else with a
 * pass within the duty cycle. */
static int user_discover_now(struct jpu_mset *s, const struct jpu_mrule *rule)
{
	struct jpu_proctab *t = s->t;
	int r;

	if (t->children) {
		/* the list grows as children join: grandchildren too */
		for (size_t i = 0; i < s->n_list; i++) {
			r = add_children(s, rule, s->list[i]);
			if (r == -ENOMEM)
				return r;
		}
		return 0;
	}
	if (t->scan_gen == t->gen || !jpu_proctab_scan_in_budget(t))
		return 0;
	r = jpu_proctab_scan(t);
	if (r < 0)
		return r;
	return discover_from_table(s, rule);
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* The children of members that vanished were re-parented (to init, or to
 * a PR_SET_CHILD_SUBREAPER ancestor): re-read the cached ppid of the
 * processes whose parent was one of them (s->list), so the table stays
 * true and a subreaper inside the tree keeps its adopted grandchildren.
 * O(table) but only on a tick where a member exited. */
static void reparent(struct jpu_mset *s)
{
	struct jpu_proctab *t = s->t;

	if (s->n_list > 1)
		qsort(s->list, s->n_list, sizeof *s->list, cmp_pid);
	for (uint32_t i = 0; i < t->tab.cap; i++) {
		struct jpu_pt_entry *e = jpu_pidtab_slot(&t->tab, i);

		if (e->pid == 0 || e->ppid <= 0 ||
		    !bsearch(&e->ppid, s->list, s->n_list, sizeof *s->list, cmp_pid))
			continue;
		if (jpu_proctab_load(t, e) < 0)
			continue;
		if (!jpu_pidtab_find(&s->m, e->pid) && jpu_mset_live(s, e->ppid))
			(void)jpu_mset_add(s, e->pid, NULL);
	}
}

/* Re-read every member, retire the vanished ones and return the monotonic
 * sum in *ret_sum and the RSS pages of live members in *ret_rss. */
static int mset_account(struct jpu_mset *s, const struct jpu_mrule *rule, uint64_t *ret_sum,
                        uint64_t *ret_rss)
{
	size_t n_gone = 0, i;
	uint64_t sum, rss = 0;
	int r;

	for (i = 0; i < s->m.cap; i++) {
		struct jpu_member *m = jpu_pidtab_slot(&s->m, i);
		struct jpu_pid_stat st;

		if (m->pid == 0)
			continue;
		m->expected = 0;
		m->cgot = 0;
		if (m->seen == s->round)
			continue; /* joined this round: read just now */
		r = member_read(s, m, &st);
		if (r == 0 && st.starttime != m->starttime)
			r = -ESRCH; /* PID reused: the process we knew is gone */
		if (jpu_proc_gone(r)) {
			m->vanished = true;
			n_gone++;
			continue;
		}
		if (r < 0) {
			jpu_logf(s->t->log, JPU_LOG_DEBUG, "/proc/%d/stat: %s; keeping last value",
			         (int)m->pid, strerror(-r));
			m->seen = s->round;
			continue;
		}
		m->ppid = st.ppid;
		m->total = st.utime + st.stime + st.cutime + st.cstime;
		/* cutime only grows; a smaller value would be a kernel bug */
		if (st.cutime + st.cstime > m->ctotal)
			m->cgot = st.cutime + st.cstime - m->ctotal > UINT32_MAX
			                  ? UINT32_MAX
			                  : (uint32_t)(st.cutime + st.cstime - m->ctotal);
		m->ctotal = st.cutime + st.cstime;
		m->rss_pages = st.rss_pages > UINT32_MAX ? UINT32_MAX : (uint32_t)st.rss_pages;
		m->seen = s->round;
	}
	if (n_gone > 0) {
		s->n_list = 0;
		for (i = 0; i < s->m.cap; i++) {
			struct jpu_member *m = jpu_pidtab_slot(&s->m, i);
			struct jpu_member *a;
			unsigned hops = 0;

			if (m->pid == 0 || !m->vanished)
				continue;
			r = list_push(s, m->pid);
			if (r < 0)
				return r;
			/* the reaper is the nearest live member up the last known
			 * parent chain (a parent that died in the same tick may
			 * have reaped it before being reaped itself) */
			a = jpu_pidtab_find(&s->m, m->ppid);
			while (a && a->vanished && hops++ < s->m.n)
				a = jpu_pidtab_find(&s->m, a->ppid);
			if (a && !a->vanished)
				a->expected += m->total;
			else
				s->carried += m->total;
		}
		/* what a live reaper's cutime/cstime did not take in was
		 * reaped elsewhere (init, a SIGCHLD-ignoring parent): keep it */
		for (i = 0; i < s->m.cap; i++) {
			struct jpu_member *m = jpu_pidtab_slot(&s->m, i);
			uint64_t got;

			if (m->pid == 0 || m->vanished || m->expected == 0)
				continue;
			got = m->cgot;
			if (got < m->expected)
				s->carried += m->expected - got;
		}
		for (i = 0; i < s->n_list; i++) {
			pid_t pid = s->list[i];
			struct jpu_pid_stat st;

			member_close(s, jpu_pidtab_find(&s->m, pid));
			jpu_pidtab_remove(&s->m, pid);
			/* a reused PID is a new process: it joins by the rule */
			if (jpu_read_pid_stat(s->t->procfs_fd, pid, &st) < 0)
				continue;
			if (rule->is_tree ? jpu_mset_live(s, st.ppid) : false)
				(void)jpu_mset_add(s, pid, &st);
			if (!rule->is_tree) {
				struct jpu_pt_entry *e = jpu_pidtab_find(&s->t->tab, pid);

				/* started after the last pass: whole life */
				if (e && jpu_proctab_load(s->t, e) == 0) {
					e->first_scan = s->t->scans + 1;
					if (e->uid == rule->uid)
						(void)user_join(s, pid, &st);
				}
			}
		}
		if (rule->is_tree && !s->t->children)
			reparent(s);
	}
	if (!rule->is_tree && s->counting) {
		s->n_list = 0;
		for (i = 0; i < s->m.cap; i++) {
			const struct jpu_member *m = jpu_pidtab_slot(&s->m, i);

			if (m->pid != 0 && !m->vanished && m->cgot > m->expected) {
				r = list_push(s, m->pid);
				if (r < 0)
					return r;
			}
		}
		if (s->n_list > 0) {
			r = user_discover_now(s, rule);
			if (r < 0)
				return r;
		}
	}
	sum = s->carried;
	for (i = 0; i < s->m.cap; i++) {
		const struct jpu_member *m = jpu_pidtab_slot(&s->m, i);

		if (m->pid == 0)
			continue;
		sum += m->total;
		rss += m->rss_pages;
	}
	/* last line of defence: never report less than before (discount is
	 * what late joiners had used before they joined, see struct jpu_mset) */
	if (sum < s->last_sum + s->discount) {
		s->carried += s->last_sum + s->discount - sum;
		sum = s->last_sum + s->discount;
	}
	s->last_sum = sum - s->discount;
	*ret_sum = s->last_sum;
	*ret_rss = rss;
	return 0;
}

int jpu_mset_update(struct jpu_mset *s, const struct jpu_mrule *rule, uint64_t *ret_sum,
                    uint64_t *ret_rss)
{
	int r;

	s->round = (s->round + 1) & 0x7fffffffu;
	if (rule->is_tree && s->t->children) {
		r = discover_children(s, rule);
	} else {
		if (!s->scanner) {
			/* the children files were switched off under us */
			s->scanner = true;
			s->t->scanners++;
			r = jpu_proctab_ensure(s->t);
			if (r < 0)
				return r;
			s->scans_seen = 0;
		}
		r = discover_from_table(s, rule);
		/* a set that read the whole table (its first pass, or one it
		 * missed) must not keep a table-sized scratch: a node daemon has
		 * one set per user, and 100 users x 10,000 processes kept 6 MB
		 * (bench/bench_many_scopes). Every user of the list empties it
		 * first, so it can go. */
		if (s->cap_list > 1024 && s->cap_list > 4 * (size_t)s->m.n) {
			free(s->list);
			s->list = NULL;
			s->n_list = s->cap_list = 0;
		}
	}
	if (r < 0)
		return r;
	return mset_account(s, rule, ret_sum, ret_rss);
}
