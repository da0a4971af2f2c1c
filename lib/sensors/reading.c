/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The first two stages of a tick (docs/architecture.md):
 *  - read: the host's CPU times and memory from /proc, every scope's CPU
 *    time and memory (the engine's scope and each tracked tree), every
 *    sensor turned into power over the interval, and the per-process GPU
 *    utilisation of every backend that has it;
 *  - combine: the machine's parts from the domains. CPU = the packages of
 *    the sensor that measures them (deduplicated by the backends), DRAM
 *    beside them, psys apart from any sensor, core and uncore never added,
 *    and every GPU once, whatever backend measures it.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../engine.h"
#include "../proc/procfile.h"
#include "../proc/proctab.h"
#include "../proc/tree.h"
#include "../proc/user.h"
#include "../cgroup.h"

/* Per-domain power over the interval. Counters go through the wrap/reset
 * rule of counter.h: an interval it cannot vouch for is unknown. */
static void read_sensors(struct jpu_engine *e, const struct jpu_sense_ctx *ctx)
{
	for (size_t i = 0; i < e->n_sensors; i++) {
		struct jpu_sensor *s = &e->sensors[i];
		int r = s->ops->read ? s->ops->read(s, ctx) : -EOPNOTSUPP;

		for (size_t k = 0; k < s->n_domains; k++) {
			struct jpu_domain *d = &s->domains[k];
			struct jpu_dom_state *st = &e->dstate[i][k];

			st->valid = false;
			if (r < 0 || !d->valid) {
				/* no baseline across a failed read: the next good
				 * read starts a new interval */
				jpu_counter_forget(&st->counter);
				continue;
			}
			if (d->has_energy) {
				struct jpu_counter_limits lim;

				jpu_counter_limits_of(d, &lim);
				st->valid = jpu_counter_measured(jpu_counter_update(
				        &st->counter, d->energy_uj, ctx->t_mono_usec, &lim, d->id,
				        &e->log, &st->power_uw));
			} else if (d->has_power) {
				st->power_uw = d->power_uw;
				st->valid = ctx->interval_usec > 0;
			}
		}
	}
}

/* Per-process GPU utilisation of every backend that reports it, one run of
 * e->gpu_procs per sensor (device = that sensor's domain index until
 * combine maps it to the machine's GPU list). */
static void read_gpu_procs(struct jpu_engine *e, struct jpu_reading *rd)
{
	size_t count = 0;

	for (size_t i = 0; i < e->n_sensors; i++) {
		struct jpu_sensor *s = &e->sensors[i];
		int n;

		rd->proc_first[i] = count;
		rd->proc_n[i] = 0;
		if (!s->ops->gpu_procs || count >= JPU_MAX_GPU_PROCS)
			continue;
		n = s->ops->gpu_procs(s, e->gpu_procs + count, JPU_MAX_GPU_PROCS - count);
		if (n <= 0)
			continue;
		rd->proc_n[i] = (size_t)n;
		count += (size_t)n;
	}
	rd->n_procs = count;
}

static bool pred_tree(const void *arg, pid_t pid)
{
	return arg && jpu_tree_contains(arg, pid);
}

static bool pred_user(const void *arg, pid_t pid)
{
	return arg && jpu_user_contains(arg, pid);
}

/* Whether pid is in the cgroup of an added CGROUP scope (a GPU process):
 * its /proc/PID/cgroup path is the scope's or below it, in any hierarchy. */
static bool pred_cgroup(const void *arg, pid_t pid)
{
	const struct jpu_xscope *x = arg;
	struct jpu_cgroup_paths *p;
	size_t n = strlen(x->cgroup);
	bool in = false;

	p = malloc(sizeof *p);
	if (!p)
		return false;
	if (jpu_cgroup_read_pid(x->procfs_fd, pid, p) == 0) {
		const char *paths[] = {p->has_v2 ? p->v2 : NULL,
		                       p->has_cpuacct ? p->cpuacct : NULL};

		for (size_t i = 0; i < 2 && !in; i++)
			in = paths[i] && strncmp(paths[i], x->cgroup, n) == 0 &&
			     (paths[i][n] == '\0' || paths[i][n] == '/' ||
			      (n == 1 && x->cgroup[0] == '/'));
	}
	free(p);
	return in;
}

/* Take this tick's added scopes under e->lock (jpu_scope_add may run at
 * any time; only the tick frees an entry, so the pointers stay valid
 * through the stages), freeing the removed ones. */
static int take_xscopes(struct jpu_engine *e, struct jpu_reading *rd)
{
	size_t w = 0;
	int r = 0;

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_xscopes; i++) {
		struct jpu_xscope *x = e->xscopes[i];

		if (x->removed)
			jpu_xscope_free(x);
		else
			e->xscopes[w++] = x;
	}
	e->n_xscopes = w;
	if (w) {
		rd->xs = malloc(w * sizeof *rd->xs);
		if (!rd->xs)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < w; i++) {
		struct jpu_xscope *x = e->xscopes[i];

		x->in_tick = x->live;
		if (x->live)
			rd->xs[rd->n_xs++] = x;
	}
	pthread_mutex_unlock(&e->lock);
	return r;
}

static uint64_t ns_to_ticks(uint64_t ns)
{
	uint64_t tck = (uint64_t)jpu_clk_tck();

	return ns / 1000000000ULL * tck + ns % 1000000000ULL * tck / 1000000000ULL;
}

/* One added scope's cumulative CPU ticks and memory now. The sampler
 * opens its /proc or cgroup side at its first tick (jpu_scope_add only
 * checked that it exists). A cgroup's CPU time is in ns (v2 usage_usec
 * x 1000, v1 cpuacct.usage): accumulated in ns across resets and turned
 * into USER_HZ ticks, the basis of the host's busy ticks in /proc/stat,
 * only as a cumulative figure, so that the rounding of each interval is
 * given back in the next one (never lost, never more than one tick). */
static int read_xscope(struct jpu_engine *e, struct jpu_xscope *x, uint64_t *ret_ticks,
                       uint64_t *ret_rss)
{
	uint64_t ns;
	int r;

	if (!x->opened) {
		x->opened = true;
		x->procfs_fd = e->procfs_fd;
		if (x->kind == JPU_SCOPE_USER)
			r = jpu_user_new(e->proctab, x->uid, &x->user);
		else if (x->kind == JPU_SCOPE_PROCESS)
			r = jpu_tree_new(e->proctab, x->pid, &x->tree);
		else
			r = jpu_cgroup_open_path(e->sysfs_fd, x->cgroup, &x->cg);
		if (r < 0) {
			jpu_logf(&e->log, JPU_LOG_INFO, "scope %s: %s", x->key, strerror(-r));
			return r;
		}
	}
	switch (x->kind) {
	case JPU_SCOPE_USER:
		return x->user ? jpu_user_update(x->user, ret_ticks, ret_rss) : -ESRCH;
	case JPU_SCOPE_PROCESS:
		return x->tree ? jpu_tree_update(x->tree, ret_ticks, ret_rss) : -ESRCH;
	default:
		break;
	}
	if (x->cg.version == JPU_CGROUP_NONE)
		return -ENOENT;
	/* a removed cgroup's open files answer ENODEV: dead from then on */
	r = jpu_cgroup_read_cpu_ns(&x->cg, &ns);
	if (r < 0)
		return r;
	if (!x->cg_started)
		x->cg_acc_ns = 0;
	else if (ns >= x->cg_prev_ns)
		x->cg_acc_ns += ns - x->cg_prev_ns;
	x->cg_prev_ns = ns;
	x->cg_started = true;
	*ret_ticks = ns_to_ticks(x->cg_acc_ns);
	*ret_rss = 0;
	if (x->cg.mem_fd >= 0 && jpu_cgroup_read_mem_bytes(&x->cg, ret_rss) < 0)
		*ret_rss = 0;
	return 0;
}

/* The scopes' CPU time over the interval and memory now: [0] the engine's
 * scope, [1 + i] the sampler's tracked tree i (e->trees), then the added
 * scopes. */
static int read_scopes(struct jpu_engine *e, struct jpu_reading *rd)
{
	struct jpu_scope_in *sc;
	uint64_t ticks = 0, rss = 0;
	int r;

	/* tracked trees: take up the API's requests (tracked.c); out of
	 * memory keeps the trees as they were */
	jpu_tracked_sync(e);
	rd->n_tracked = e->n_trees;
	r = take_xscopes(e, rd);
	if (r < 0)
		return r;
	rd->n_scopes = 1 + rd->n_tracked + rd->n_xs;
	rd->scopes = calloc(rd->n_scopes, sizeof *rd->scopes);
	rd->power = calloc(rd->n_scopes, sizeof *rd->power);
	if (!rd->scopes || !rd->power)
		return -ENOMEM;
	if (e->scope != JPU_SCOPE_SYSTEM || rd->n_tracked > 0 || rd->n_xs > 0)
		jpu_proctab_refresh(e->proctab);
	sc = &rd->scopes[0];
	sc->measured = true;
	sc->is_system = e->scope == JPU_SCOPE_SYSTEM;
	if (e->scope == JPU_SCOPE_PROCESS) {
		jpu_tree_update(e->tree, &ticks, &rss);
		sc->contains = pred_tree;
		sc->arg = e->tree;
	} else if (e->scope == JPU_SCOPE_USER) {
		jpu_user_update(e->user, &ticks, &rss);
		sc->contains = pred_user;
		sc->arg = e->user;
	}
	sc->cpu_ticks = ticks >= e->prev_scope_ticks ? ticks - e->prev_scope_ticks : 0;
	sc->rss_bytes = rss;
	e->prev_scope_ticks = ticks;

	/* the trees are the sampler's (sample_lock): the tick publishes their
	 * figures to the tags under e->lock in the account stage */
	jpu_tracked_update(e);
	for (size_t i = 0; i < e->n_trees; i++) {
		const struct jpu_tracked_tree *t = &e->trees[i];

		sc = &rd->scopes[1 + i];
		if (!t->tree)
			continue; /* restored from the state file, not tracked again yet */
		sc->measured = true;
		sc->cpu_ticks = t->ticks_delta;
		sc->rss_bytes = t->rss_bytes;
		sc->contains = pred_tree;
		sc->arg = t->tree;
	}
	for (size_t i = 0; i < rd->n_xs; i++) {
		struct jpu_xscope *x = rd->xs[i];

		sc = &rd->scopes[1 + rd->n_tracked + i];
		ticks = rss = 0;
		r = read_xscope(e, x, &ticks, &rss);
		x->alive_read = r >= 0;
		if (r < 0)
			continue; /* not measured: nothing given */
		sc->measured = true;
		sc->cpu_ticks = x->have_prev && ticks >= x->prev_ticks ? ticks - x->prev_ticks : 0;
		sc->rss_bytes = rss;
		sc->contains = x->kind == JPU_SCOPE_USER      ? pred_user
		               : x->kind == JPU_SCOPE_PROCESS ? pred_tree
		                                              : pred_cgroup;
		sc->arg = x->kind == JPU_SCOPE_USER      ? (const void *)x->user
		          : x->kind == JPU_SCOPE_PROCESS ? (const void *)x->tree
		                                         : (const void *)x;
		x->prev_ticks = ticks;
		x->have_prev = true;
	}
	return 0;
}

int jpu_read(struct jpu_engine *e, struct jpu_reading *rd)
{
	struct jpu_host_cpu host;
	struct jpu_sense_ctx ctx = {0};
	uint64_t now = e->clock_mono(), mem_total = 0;
	bool first = !e->have_prev;
	int r;

	memset(rd, 0, sizeof *rd);
	r = jpu_proc_host_cpu(e->procfs_fd, &host);
	if (r < 0) {
		jpu_logf(&e->log, JPU_LOG_WARNING, "/proc/stat: %s: sample skipped", strerror(-r));
		return r;
	}
	if (jpu_proc_meminfo(e->procfs_fd, &mem_total, &rd->mem_used_bytes) < 0)
		mem_total = rd->mem_used_bytes = 0;
	if (!first) {
		rd->interval_usec = now > e->prev_mono_usec ? now - e->prev_mono_usec : 0;
		/* a zero-length interval yields no sample (STYLE rule 11) */
		if (rd->interval_usec == 0)
			return 0;
		rd->host_delta.busy_ticks = host.busy_ticks >= e->prev_host.busy_ticks
		                                    ? host.busy_ticks - e->prev_host.busy_ticks
		                                    : 0;
		rd->host_delta.all_ticks = host.all_ticks >= e->prev_host.all_ticks
		                                   ? host.all_ticks - e->prev_host.all_ticks
		                                   : 0;
		rd->host_delta.ncpu = host.ncpu;
	}
	r = read_scopes(e, rd);
	if (r < 0)
		return r;

	ctx.t_mono_usec = now;
	ctx.interval_usec = rd->interval_usec;
	ctx.host_delta = first ? NULL : &rd->host_delta;
	ctx.mem_used_bytes = rd->mem_used_bytes;
	ctx.mem_total_bytes = mem_total;
	read_sensors(e, &ctx);
	read_gpu_procs(e, rd);

	e->prev_host = host;
	e->prev_mono_usec = now;
	e->have_prev = true;
	/* every tick, the baseline included: activity is a delta */
	rd->active_users = e->idle_policy == JPU_IDLE_EVEN ? jpu_active_users(e) : 1;
	return first ? 0 : 1;
}

void jpu_reading_free(struct jpu_reading *rd)
{
	free(rd->scopes);
	free(rd->power);
	free(rd->xs);
	rd->xs = NULL;
	rd->n_xs = 0;
	rd->scopes = NULL;
	rd->power = NULL;
	rd->n_scopes = 0;
}

/* Sum the domains of one kind of sensor si into ps. */
static void sum_kind(const struct jpu_engine *e, int si, enum jpu_domain_kind kind,
                     struct jpu_part_sum *ps)
{
	const struct jpu_sensor *s;

	memset(ps, 0, sizeof *ps);
	if (si < 0)
		return;
	s = &e->sensors[si];
	for (size_t k = 0; k < s->n_domains; k++) {
		const struct jpu_domain *d = &s->domains[k];
		const struct jpu_dom_state *st = &e->dstate[si][k];

		if (d->kind != kind || d->duplicate)
			continue;
		if (!st->valid) {
			/* one missing package makes the sum unknown, not smaller */
			memset(ps, 0, sizeof *ps);
			return;
		}
		ps->any = true;
		ps->source = s->ops->source;
		ps->uw += st->power_uw;
		if (d->has_limit) {
			ps->has_limit = true;
			ps->limit_uw += d->limit_uw;
		}
	}
}

/* psys may come from any sensor: rapl next to the packages, or the hwmon
 * figure of an integrated GPU that covers the whole SoC (hwmon.c) */
static void sum_psys(const struct jpu_engine *e, struct jpu_part_sum *ps)
{
	memset(ps, 0, sizeof *ps);
	for (size_t i = 0; i < e->n_sensors; i++) {
		struct jpu_part_sum one;

		sum_kind(e, (int)i, JPU_DOM_PSYS, &one);
		if (one.any) {
			*ps = one;
			return;
		}
	}
}

/* Every GPU of every sensor once: no backend shadows another (an amdgpu,
 * i915 or xe hwmon beside NVML). The backends never measure the same
 * device twice: NVML needs NVIDIA's driver, which registers no hwmon power,
 * and xe's package sensor is already marked a duplicate of its card's. One
 * GPU without a figure makes the GPU part unknown, not smaller. */
static void combine_gpus(const struct jpu_engine *e, const struct jpu_reading *rd,
                         struct jpu_machine *m)
{
	for (size_t i = 0; i < e->n_sensors; i++) {
		const struct jpu_sensor *s = &e->sensors[i];
		unsigned first = m->n_gpus;

		for (size_t k = 0; k < s->n_domains; k++) {
			const struct jpu_domain *d = &s->domains[k];
			const struct jpu_dom_state *st = &e->dstate[i][k];
			struct jpu_machine_gpu *g;

			if (d->kind != JPU_DOM_GPU || d->duplicate)
				continue;
			if (!st->valid) {
				m->n_gpus = 0;
				m->n_procs = 0;
				return;
			}
			if (m->n_gpus >= JPU_MAX_GPUS)
				break;
			g = &m->gpus[m->n_gpus++];
			g->d = d;
			g->source = s->ops->source;
			g->power_uw = st->power_uw;
			g->per_process = d->per_process;
		}
		/* this sensor's processes: domain index -> machine GPU index */
		for (size_t p = rd->proc_first[i]; p < rd->proc_first[i] + rd->proc_n[i]; p++) {
			struct jpu_gpu_proc *gp = &e->gpu_procs[p];
			unsigned dom = gp->device, g = first;

			gp->device = UINT_MAX;
			for (unsigned at = first; at < m->n_gpus && dom < s->n_domains; at++)
				if (m->gpus[at].d == &s->domains[dom]) {
					g = at;
					gp->device = at;
				}
			if (gp->device != UINT_MAX)
				m->gpus[g].util_sum += gp->sm_util;
		}
	}
	m->procs = e->gpu_procs;
	m->n_procs = rd->n_procs;
}

void jpu_combine(const struct jpu_engine *e, const struct jpu_reading *rd, struct jpu_machine *m)
{
	memset(m, 0, sizeof *m);
	m->interval_usec = rd->interval_usec;
	m->host_busy_ticks = rd->host_delta.busy_ticks;
	m->host_all_ticks = rd->host_delta.all_ticks;
	m->mem_used_bytes = rd->mem_used_bytes;
	m->active_users = rd->active_users;
	m->policy = e->idle_policy;
	sum_kind(e, e->cpu_sensor, JPU_DOM_PACKAGE, &m->pkg);
	sum_kind(e, e->cpu_sensor, JPU_DOM_DRAM, &m->dram);
	sum_psys(e, &m->psys);
	combine_gpus(e, rd, m);
}
