/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One sampler tick: read the host CPU times, the scope's CPU time and every
 * sensor, turn counters into wrap-aware power over the interval, combine the
 * domains (CPU = deduplicated packages, DRAM beside it, psys apart, core and
 * uncore never added), attribute, accumulate energy, publish the snapshot,
 * append to the history ring and persist the totals.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "engine.h"
#include "proc/procfile.h"
#include "proc/proctab.h"
#include "proc/tree.h"
#include "proc/user.h"

/* energy (µJ) of power_uw over interval_usec, sub-µJ remainder carried */
static uint64_t take_energy(double power_uw, uint64_t interval_usec, double *rem)
{
	double e = power_uw * (double)interval_usec / (double)JPU_USEC_PER_SEC + *rem;
	uint64_t whole;

	if (!(e > 0.0)) {
		*rem = 0.0;
		return 0;
	}
	whole = (uint64_t)e;
	*rem = e - (double)whole;
	return whole;
}

/* Returns the energy added (µJ), for the emissions of the same interval. */
static uint64_t add_energy(struct jpu_energy *en, uint64_t cpu_uw, uint64_t dram_uw,
                           uint64_t gpu_uw, uint64_t interval_usec)
{
	uint64_t c = take_energy((double)cpu_uw, interval_usec, &en->cpu_rem);
	uint64_t d = take_energy((double)dram_uw, interval_usec, &en->dram_rem);
	uint64_t g = take_energy((double)gpu_uw, interval_usec, &en->gpu_rem);

	en->cpu_uj += c;
	en->dram_uj += d;
	en->gpu_uj += g;
	return c + d + g;
}

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

struct part_sum {
	bool any;
	uint64_t uw;
	bool has_limit;
	uint64_t limit_uw;
};

static void sum_kind(const struct jpu_engine *e, int si, enum jpu_domain_kind kind,
                     struct part_sum *ps)
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
			ps->any = false;
			ps->uw = 0;
			return;
		}
		ps->any = true;
		ps->uw += st->power_uw;
		if (d->has_limit) {
			ps->has_limit = true;
			ps->limit_uw += d->limit_uw;
		}
	}
}

/* psys may come from any sensor (it lives in rapl next to the packages) */
static void sum_psys(const struct jpu_engine *e, struct part_sum *ps)
{
	memset(ps, 0, sizeof *ps);
	for (size_t i = 0; i < e->n_sensors; i++) {
		struct part_sum one;

		sum_kind(e, (int)i, JPU_DOM_PSYS, &one);
		if (one.any) {
			*ps = one;
			return;
		}
	}
}

typedef bool (*pid_pred)(const void *arg, pid_t pid);

static bool pred_tree(const void *arg, pid_t pid)
{
	return arg && jpu_tree_contains(arg, pid);
}

static bool pred_user(const void *arg, pid_t pid)
{
	return arg && jpu_user_contains(arg, pid);
}

/* GPU share on one device from NVML per-process utilisation. Returns false
 * when the backend gives no per-process figures (then the whole device). */
static bool gpu_share(const struct jpu_engine *e, unsigned dev, int n, pid_pred in, const void *arg,
                      double *ret_share)
{
	uint64_t all = 0, mine = 0;

	for (int i = 0; i < n; i++) {
		const struct jpu_gpu_proc *p = &e->gpu_procs[i];

		if (p->device != dev)
			continue;
		all += p->sm_util;
		if (in(arg, p->pid))
			mine += p->sm_util;
	}
	if (all == 0)
		return false;
	*ret_share = (double)mine / (double)all;
	return true;
}

static void hist_push(struct jpu_engine *e, const struct jpu_snapshot *s)
{
	struct jpu_hist *h = &e->hist[e->hist_head];

	h->t_real_usec = s->t_real_usec;
	h->has_cpu = s->cpu.present;
	h->cpu_uw = s->cpu.usage_uw;
	h->cpu_total_uw = s->cpu.total_uw;
	h->has_dram = s->dram.present;
	h->dram_uw = s->dram.usage_uw;
	h->has_gpu = s->gpu.present;
	h->gpu_uw = s->gpu.usage_uw;
	h->energy_uj = s->energy.cpu_uj + s->energy.dram_uj + s->energy.gpu_uj;
	h->has_emissions = s->has_emissions;
	h->co2_ug = s->co2_ug;
	h->intensity_mg = s->intensity.mg_per_kwh;
	e->hist_head = (e->hist_head + 1) % e->history_len;
	if (e->hist_count < e->history_len)
		e->hist_count++;
}

/* Per-tracked-tree CPU deltas; done before taking the lock (reads /proc). */
static void update_tracked(struct jpu_engine *e, uint64_t *deltas, uint64_t *rss)
{
	for (size_t i = 0; i < e->n_tracked; i++) {
		struct jpu_tracked *t = &e->tracked[i];
		uint64_t ticks = 0, bytes = 0;
		int r = t->tree ? jpu_tree_update(t->tree, &ticks, &bytes) : -ESRCH;

		if (!t->tree) {
			/* restored from the state file, not tracked again yet */
			t->alive = false;
			deltas[i] = rss[i] = 0;
			continue;
		}
		t->alive = r >= 0;
		deltas[i] = t->have_prev && ticks >= t->prev_ticks ? ticks - t->prev_ticks : 0;
		rss[i] = r >= 0 ? bytes : 0;
		t->prev_ticks = ticks;
		t->have_prev = true;
	}
}

/* One user slice seen by active_users (jpu_cgroup_each_user callback). */
struct active_count {
	struct jpu_engine *e;
	unsigned active;
};

static void count_active_user(uid_t uid, uint64_t usage, void *userdata)
{
	struct active_count *c = userdata;
	struct jpu_engine *e = c->e;
	struct jpu_user_usage *u = NULL;

	for (size_t i = 0; i < e->n_users; i++)
		if (e->users[i].uid == uid)
			u = &e->users[i];
	if (!u) {
		struct jpu_user_usage *arr = realloc(e->users, (e->n_users + 1) * sizeof *arr);

		if (!arr)
			return;
		e->users = arr;
		u = &arr[e->n_users++];
		u->uid = (unsigned long)uid;
		u->usage = usage; /* first sight: no delta yet */
	}
	if (usage > u->usage)
		c->active++;
	u->usage = usage;
	u->seen_gen = e->users_gen;
}

/* Number of users that used CPU since the last tick, for the idle policy
 * "even": from the per-user cgroups that systemd-logind creates
 * (user.slice/user-UID.slice, cgroup.c). Without them the scope's user is
 * the only one known to be active (said once in the log). Never fewer
 * than 1. */
static unsigned active_users(struct jpu_engine *e)
{
	struct active_count c = {e, 0};

	e->users_gen++;
	if (jpu_cgroup_each_user(e->sysfs_fd, count_active_user, &c) < 0 && !e->users_warned) {
		e->users_warned = true;
		jpu_logf(&e->log, JPU_LOG_WARNING,
		         "idle policy even: no per-user cgroups (user.slice) in %s/fs/cgroup; idle "
		         "power goes to the scope as if its user were the only one active",
		         e->sysfs_root);
	}
	return c.active ? c.active : 1;
}

int jpu_engine_tick(struct jpu_engine *e)
{
	struct jpu_host_cpu host, hd = {0};
	struct jpu_sense_ctx ctx = {0};
	struct jpu_snapshot snap;
	struct part_sum pkg, dram, psys, gpu;
	struct jpu_attr_in ain = {0};
	struct jpu_attr_out cpu_out, dram_out;
	uint64_t now = e->clock_mono(), interval = 0;
	uint64_t scope_ticks = 0, scope_rss = 0, mem_total = 0, mem_used = 0;
	uint64_t *tdelta = NULL, *trss = NULL;
	double mem_share = 0.0;
	bool first = !e->have_prev;
	unsigned n_active_users;
	int r, ngp = 0;

	r = jpu_proc_host_cpu(e->procfs_fd, &host);
	if (r < 0) {
		jpu_logf(&e->log, JPU_LOG_WARNING, "/proc/stat: %s: sample skipped", strerror(-r));
		return r;
	}
	r = jpu_proc_meminfo(e->procfs_fd, &mem_total, &mem_used);
	if (r < 0)
		mem_total = mem_used = 0;
	if (!first) {
		interval = now > e->prev_mono_usec ? now - e->prev_mono_usec : 0;
		/* a zero-length interval yields no sample (STYLE rule 11) */
		if (interval == 0)
			return 0;
		hd.busy_ticks = host.busy_ticks >= e->prev_host.busy_ticks
		                        ? host.busy_ticks - e->prev_host.busy_ticks
		                        : 0;
		hd.all_ticks = host.all_ticks >= e->prev_host.all_ticks
		                       ? host.all_ticks - e->prev_host.all_ticks
		                       : 0;
		hd.ncpu = host.ncpu;
	}

	if (e->scope != JPU_SCOPE_SYSTEM || e->n_tracked > 0)
		jpu_proctab_refresh(e->proctab);
	if (e->scope == JPU_SCOPE_PROCESS)
		jpu_tree_update(e->tree, &scope_ticks, &scope_rss);
	else if (e->scope == JPU_SCOPE_USER)
		jpu_user_update(e->user, &scope_ticks, &scope_rss);
	if (e->n_tracked) {
		tdelta = calloc(e->n_tracked, sizeof *tdelta);
		trss = calloc(e->n_tracked, sizeof *trss);
		if (!tdelta || !trss) {
			free(tdelta);
			free(trss);
			return -ENOMEM;
		}
		update_tracked(e, tdelta, trss);
	}

	ctx.t_mono_usec = now;
	ctx.interval_usec = interval;
	ctx.host_delta = first ? NULL : &hd;
	ctx.mem_used_bytes = mem_used;
	ctx.mem_total_bytes = mem_total;
	read_sensors(e, &ctx);
	if (e->gpu_sensor >= 0 && e->sensors[e->gpu_sensor].ops->gpu_procs) {
		struct jpu_sensor *gs = &e->sensors[e->gpu_sensor];

		ngp = gs->ops->gpu_procs(gs, e->gpu_procs, JPU_MAX_GPU_PROCS);
		if (ngp < 0)
			ngp = 0;
	}

	{
		uint64_t d =
		        scope_ticks >= e->prev_scope_ticks ? scope_ticks - e->prev_scope_ticks : 0;

		e->prev_scope_ticks = scope_ticks;
		scope_ticks = d;
	}
	e->prev_host = host;
	e->prev_mono_usec = now;
	e->have_prev = true;
	/* every tick, the baseline included: activity is a delta */
	n_active_users = e->idle_policy == JPU_IDLE_EVEN ? active_users(e) : 1;
	if (first) {
		free(tdelta);
		free(trss);
		return 0;
	}

	memset(&snap, 0, sizeof snap);
	snap.t_real_usec = e->clock_real();
	snap.interval_usec = interval;
	snap.scope = e->scope;

	sum_kind(e, e->cpu_sensor, JPU_DOM_PACKAGE, &pkg);
	sum_kind(e, e->cpu_sensor, JPU_DOM_DRAM, &dram);
	sum_psys(e, &psys);
	sum_kind(e, e->gpu_sensor, JPU_DOM_GPU, &gpu);

	ain.host_busy_ticks = hd.busy_ticks;
	ain.host_all_ticks = hd.all_ticks;
	ain.scope_ticks = e->scope == JPU_SCOPE_SYSTEM ? hd.busy_ticks : scope_ticks;
	ain.scope_is_system = e->scope == JPU_SCOPE_SYSTEM;
	ain.policy = e->idle_policy;
	ain.active_users = n_active_users;
	ain.measured_uw = pkg.uw;
	jpu_attribute(&ain, &cpu_out);

	/* DRAM by memory share: the scope's resident memory over the memory
	 * in use on the host */
	if (e->scope == JPU_SCOPE_SYSTEM)
		mem_share = 1.0;
	else if (mem_used > 0)
		mem_share = (double)scope_rss / (double)mem_used;
	if (mem_share > 1.0)
		mem_share = 1.0;
	{
		struct jpu_attr_in din = ain;

		din.measured_uw = dram.uw;
		jpu_attribute(&din, &dram_out);
		if (!din.scope_is_system) {
			/* active DRAM follows memory, not CPU time */
			double active = (double)dram_out.active_uw;
			double given_idle =
			        (double)dram_out.idle_uw - (double)dram_out.unattributed_idle_uw;

			if (e->idle_policy == JPU_IDLE_BUSY)
				given_idle = (double)dram_out.idle_uw * mem_share;
			dram_out.scope_uw = (uint64_t)(active * mem_share + given_idle + 0.5);
			dram_out.unattributed_idle_uw =
			        dram_out.idle_uw - (uint64_t)(given_idle + 0.5 < dram_out.idle_uw
			                                              ? given_idle + 0.5
			                                              : dram_out.idle_uw);
		}
	}

	if (pkg.any) {
		snap.cpu.present = true;
		snap.cpu.source = e->sensors[e->cpu_sensor].ops->source;
		snap.cpu.total_uw = pkg.uw + (dram.any ? dram.uw : 0);
		snap.cpu.usage_uw = cpu_out.scope_uw + (dram.any ? dram_out.scope_uw : 0);
		snap.cpu.idle_uw = cpu_out.unattributed_idle_uw +
		                   (dram.any ? dram_out.unattributed_idle_uw : 0);
		snap.cpu.has_limit = pkg.has_limit;
		snap.cpu.limit_uw = pkg.limit_uw;
	}
	if (dram.any) {
		snap.dram.present = true;
		snap.dram.source = e->sensors[e->cpu_sensor].ops->source;
		snap.dram.total_uw = dram.uw;
		snap.dram.usage_uw = dram_out.scope_uw;
		snap.dram.idle_uw = dram_out.unattributed_idle_uw;
	}
	if (psys.any) {
		size_t si = 0;

		for (size_t i = 0; i < e->n_sensors; i++)
			if (e->sensors[i].ops->source == JPU_SRC_RAPL ||
			    e->sensors[i].ops->source == JPU_SRC_PERF ||
			    e->sensors[i].ops->source == JPU_SRC_FAKE) {
				si = i;
				break;
			}
		snap.psys.present = true;
		snap.psys.source = e->sensors[si].ops->source;
		snap.psys.total_uw = psys.uw;
		snap.psys.usage_uw = psys.uw;
	}
	snap.share = cpu_out.share;
	snap.mem_share = mem_share;

	if (gpu.any) {
		struct jpu_sensor *gs = &e->sensors[e->gpu_sensor];
		unsigned ndev = 0;
		bool whole = false;

		snap.gpu.present = true;
		snap.gpu.source = gs->ops->source;
		for (size_t k = 0; k < gs->n_domains; k++) {
			const struct jpu_domain *d = &gs->domains[k];
			const struct jpu_dom_state *st = &e->dstate[e->gpu_sensor][k];
			struct jpu_gpu_dev *g;
			double share = 1.0;
			uint64_t usage;

			if (d->kind != JPU_DOM_GPU || d->duplicate || !st->valid)
				continue;
			if (e->scope != JPU_SCOPE_SYSTEM &&
			    !gpu_share(e, (unsigned)k, ngp,
			               e->scope == JPU_SCOPE_PROCESS ? pred_tree : pred_user,
			               e->scope == JPU_SCOPE_PROCESS ? (const void *)e->tree
			                                             : (const void *)e->user,
			               &share)) {
				/* no per-process figures: the whole device, said so */
				share = 1.0;
				whole = true;
			}
			usage = (uint64_t)((double)st->power_uw * share + 0.5);
			snap.gpu.total_uw += st->power_uw;
			snap.gpu.usage_uw += usage;
			if (d->has_limit) {
				snap.gpu.has_limit = true;
				snap.gpu.limit_uw += d->limit_uw;
			}
			if (ndev < JPU_MAX_GPUS) {
				g = &snap.gpus[ndev++];
				snprintf(g->name, sizeof g->name, "%s", d->name);
				g->total_uw = st->power_uw;
				g->usage_uw = usage;
				g->has_limit = d->has_limit;
				g->limit_uw = d->limit_uw;
			}
		}
		snap.n_gpus = ndev;
		snap.gpu.whole_device = whole;
	}
	if (e->cpu_sensor >= 0 && e->sensors[e->cpu_sensor].ops->source == JPU_SRC_ESTIMATE) {
		const char *basis = jpu_estimate_basis(&e->sensors[e->cpu_sensor]);

		snprintf(snap.basis, sizeof snap.basis, "%s", basis ? basis : "");
	}

	pthread_mutex_lock(&e->lock);
	/* emissions: this interval's energy times the intensity valid now
	 * (the carbon chain never blocks: fetches run on its own thread) */
	snap.has_emissions = jpu_carbon_current(e->carbon, snap.t_real_usec, &snap.intensity) == 0;
	snap.intensity_mg = snap.intensity.mg_per_kwh;
	snap.pue_milli = e->pue_milli;
	{
		uint64_t added = add_energy(&e->energy, snap.cpu.present ? cpu_out.scope_uw : 0,
		                            snap.dram.present ? snap.dram.usage_uw : 0,
		                            snap.gpu.usage_uw, interval);

		if (snap.has_emissions)
			jpu_co2_add(&e->co2, added, snap.intensity.mg_per_kwh, e->pue_milli);
	}
	snap.co2_ug = e->co2.co2_ug;
	snap.energy = e->energy;
	snap.has_cpu_sensor = e->cpu_sensor >= 0;
	snap.has_dram_sensor = snap.has_cpu_sensor && e->has_dram_domain;
	snap.has_gpu_sensor = e->gpu_sensor >= 0;
	snap.energy_total_uj = e->energy.cpu_uj + e->energy.dram_uj + e->energy.gpu_uj;
	/* tracked trees: attributed like a process scope over the same
	 * interval (the idle policy applies to each) */
	for (size_t i = 0; i < e->n_tracked; i++) {
		struct jpu_tracked *t = &e->tracked[i];
		struct jpu_attr_in tin = ain;
		struct jpu_attr_out tout;
		double tmem = mem_used > 0 ? (double)trss[i] / (double)mem_used : 0.0;
		uint64_t dram_uw =
		        (uint64_t)((double)dram_out.active_uw * (tmem > 1.0 ? 1.0 : tmem));
		uint64_t gpu_uw = 0;

		tin.scope_is_system = false;
		tin.scope_ticks = tdelta[i];
		tin.measured_uw = pkg.uw;
		jpu_attribute(&tin, &tout);
		if (gpu.any && t->tree) {
			/* a kernel's GPU power: its share of each device's
			 * utilisation; none without per-process figures (the
			 * device may be someone else's) */
			const struct jpu_sensor *gs = &e->sensors[e->gpu_sensor];

			for (size_t k = 0; k < gs->n_domains; k++) {
				const struct jpu_dom_state *st = &e->dstate[e->gpu_sensor][k];
				double sh;

				if (gs->domains[k].kind == JPU_DOM_GPU && st->valid &&
				    gpu_share(e, (unsigned)k, ngp, pred_tree, t->tree, &sh))
					gpu_uw += (uint64_t)((double)st->power_uw * sh + 0.5);
			}
		}
		t->power_uw = (pkg.any ? tout.scope_uw : 0) + (dram.any ? dram_uw : 0) + gpu_uw;
		{
			uint64_t added = add_energy(&t->energy, pkg.any ? tout.scope_uw : 0,
			                            dram.any ? dram_uw : 0, gpu_uw, interval);

			if (snap.has_emissions)
				jpu_co2_add(&t->co2, added, snap.intensity.mg_per_kwh,
				            e->pue_milli);
		}
	}
	snap.seq = e->snap.seq + 1;
	e->snap = snap;
	hist_push(e, &snap);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	free(tdelta);
	free(trss);

	/* folds dormant tags even without a state file (their series go) */
	r = jpu_state_save(e);
	if (r < 0)
		jpu_logf(&e->log, JPU_LOG_WARNING, "state file %s: %s", e->state_file,
		         strerror(-r));
	return 1;
}
