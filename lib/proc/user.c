/* SPDX-License-Identifier: BSD-3-Clause */
/* Users of user.h: the time of the user's cgroup when it has one
 * (cgroup.c), else a member set whose rule is "processes of the uid". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "proc/mset.h"
#include "proc/user.h"

struct jpu_user {
	struct jpu_mset s;
	uid_t uid;
	struct jpu_cgroup_files cg; /* owned: the slice's files; version NONE = procfs */
	uint64_t cg_prev_ns;        /* last raw cgroup value */
	uint64_t cg_acc_ns;         /* monotonic accumulation of it */
	bool cg_started;
	uint64_t last_ticks;
};

int jpu_user_new(struct jpu_proctab *t, uid_t uid, struct jpu_user **ret)
{
	struct jpu_user *u;
	uint64_t ticks, rss;
	int r;

	if (!t)
		return -EINVAL;
	u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	u->cg = (struct jpu_cgroup_files)JPU_CGROUP_FILES_INIT;
	u->s.t = t;
	u->s.m.elsize = sizeof(struct jpu_member);
	u->uid = uid;
	if (jpu_cgroup_open_user(t->sysfs_fd, uid, &u->cg) == 0) {
		uint64_t ns;

		/* a cgroup file that is there but unreadable is no cgroup */
		if (jpu_cgroup_read_cpu_ns(&u->cg, &ns) < 0)
			jpu_cgroup_files_close(&u->cg);
	}
	if (u->cg.version == JPU_CGROUP_NONE || u->cg.mem_fd < 0) {
		/* the per-process sum (for the time, or only for the RSS) needs
		 * the global scan, now and then (jpu_proctab_refresh) */
		u->s.scanner = u->s.lazy = true;
		t->lazy++;
		r = jpu_proctab_ensure(t);
		if (r < 0)
			goto fail;
		u->s.born_scan = t->scans;
	}
	r = jpu_user_update(u, &ticks, &rss);
	if (r < 0)
		goto fail;
	u->s.counting = true;
	*ret = u;
	return 0;
fail:
	jpu_user_free(u);
	return r;
}

struct jpu_user *jpu_user_free(struct jpu_user *u)
{
	if (!u)
		return NULL;
	jpu_cgroup_files_close(&u->cg);
	jpu_mset_fini(&u->s);
	free(u);
	return NULL;
}

static uint64_t ns_to_ticks(uint64_t ns)
{
	uint64_t tck = (uint64_t)jpu_clk_tck();

	return ns / 1000000000ULL * tck + ns % 1000000000ULL * tck / 1000000000ULL;
}

int jpu_user_update(struct jpu_user *u, uint64_t *ret_ticks, uint64_t *ret_rss_bytes)
{
	struct jpu_mrule rule;
	uint64_t sum = 0, rss_pages = 0, ticks, rss_bytes;
	int r;

	if (!u)
		return -EINVAL;
	rule = (struct jpu_mrule){.is_tree = false, .uid = u->uid};
	if (u->s.scanner) {
		r = jpu_mset_update(&u->s, &rule, &sum, &rss_pages);
		if (r < 0)
			return r;
	}
	rss_bytes = rss_pages * (uint64_t)jpu_page_size();
	if (u->cg.version == JPU_CGROUP_NONE) {
		ticks = sum;
	} else {
		uint64_t ns;

		r = jpu_cgroup_read_cpu_ns(&u->cg, &ns);
		if (r < 0)
			return r;
		if (!u->cg_started)
			u->cg_acc_ns = ns;
		else if (ns >= u->cg_prev_ns)
			u->cg_acc_ns += ns - u->cg_prev_ns;
		else
			u->cg_acc_ns += ns; /* slice removed and made again */
		u->cg_prev_ns = ns;
		u->cg_started = true;
		ticks = ns_to_ticks(u->cg_acc_ns);
		if (u->cg.mem_fd >= 0) {
			r = jpu_cgroup_read_mem_bytes(&u->cg, &rss_bytes);
			if (r < 0)
				return r;
		}
	}
	if (ticks < u->last_ticks)
		ticks = u->last_ticks;
	u->last_ticks = ticks;
	*ret_ticks = ticks;
	*ret_rss_bytes = rss_bytes;
	return 0;
}

bool jpu_user_contains(const struct jpu_user *u, pid_t pid)
{
	char name[16];
	struct stat sb;

	if (!u || pid <= 0)
		return false;
	if (u->s.scanner)
		return jpu_mset_live(&u->s, pid);
	/* cgroup method: no member list, ask /proc directly (one fstatat) */
	snprintf(name, sizeof name, "%d", (int)pid);
	return fstatat(u->s.t->procfs_fd, name, &sb, 0) == 0 && sb.st_uid == u->uid;
}

const char *jpu_user_method(const struct jpu_user *u)
{
	if (!u)
		return "none";
	switch (u->cg.version) {
	case JPU_CGROUP_V2:
		return "cgroup2";
	case JPU_CGROUP_V1:
		return "cgroup1";
	case JPU_CGROUP_NONE:
		break;
	}
	return "procfs";
}
