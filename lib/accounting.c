/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sampler tick as its stages (docs/architecture.md): read and combine
 * (sensors/reading.c), attribute (attribution.c), then here account (energy
 * and CO2 of every scope), publish (the snapshot and the history ring) and
 * persist (the state file, state.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "engine.h"

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

void jpu_hist_push(struct jpu_hist *ring, size_t len, size_t *head, size_t *count,
                   const struct jpu_snapshot *s)
{
	struct jpu_hist *h = &ring[*head];

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
	*head = (*head + 1) % len;
	if (*count < len)
		(*count)++;
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
unsigned jpu_active_users(struct jpu_engine *e)
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

/* The parts of the engine's own scope (scope 0) as the sample shows them. */
static void snapshot_parts(const struct jpu_engine *e, const struct jpu_machine *m,
                           const struct jpu_scope_power *p, struct jpu_snapshot *snap)
{
	if (m->pkg.any) {
		snap->cpu.present = true;
		snap->cpu.source = m->pkg.source;
		snap->cpu.total_uw = m->pkg.uw + (m->dram.any ? m->dram.uw : 0);
		snap->cpu.usage_uw = p->cpu_uw + (m->dram.any ? p->dram_uw : 0);
		snap->cpu.idle_uw = p->cpu_idle_uw + (m->dram.any ? p->dram_idle_uw : 0);
		snap->cpu.has_limit = m->pkg.has_limit;
		snap->cpu.limit_uw = m->pkg.limit_uw;
	}
	if (m->dram.any) {
		snap->dram.present = true;
		snap->dram.source = m->dram.source;
		snap->dram.total_uw = m->dram.uw;
		snap->dram.usage_uw = p->dram_uw;
		snap->dram.idle_uw = p->dram_idle_uw;
	}
	if (m->psys.any) {
		snap->psys.present = true;
		snap->psys.source = m->psys.source;
		snap->psys.total_uw = m->psys.uw;
		snap->psys.usage_uw = m->psys.uw;
	}
	snap->share = p->share;
	snap->mem_share = p->mem_share;
	if (m->n_gpus) {
		snap->gpu.present = true;
		snap->gpu.source = m->gpus[0].source;
		snap->gpu.usage_uw = p->gpu_uw;
		snap->gpu.idle_uw = p->gpu_idle_uw;
		snap->gpu.whole_device = p->gpu_whole_device;
		for (unsigned i = 0; i < m->n_gpus; i++) {
			const struct jpu_machine_gpu *g = &m->gpus[i];
			struct jpu_gpu_dev *dev = &snap->gpus[i];

			snap->gpu.total_uw += g->power_uw;
			if (g->d->has_limit) {
				snap->gpu.has_limit = true;
				snap->gpu.limit_uw += g->d->limit_uw;
			}
			snprintf(dev->name, sizeof dev->name, "%s", g->d->name);
			dev->source = g->source;
			dev->whole_device = !g->per_process && snap->scope != JPU_SCOPE_SYSTEM;
			dev->total_uw = g->power_uw;
			dev->usage_uw = p->gpu_dev_uw[i];
			dev->has_limit = g->d->has_limit;
			dev->limit_uw = g->d->limit_uw;
		}
		snap->n_gpus = m->n_gpus;
	}
	if (e->cpu_sensor >= 0 && e->sensors[e->cpu_sensor].ops->source == JPU_SRC_ESTIMATE) {
		const char *basis = jpu_estimate_basis(&e->sensors[e->cpu_sensor]);

		snprintf(snap->basis, sizeof snap->basis, "%s", basis ? basis : "");
	}
}

/* An added scope's energy, CO2 and sample, from the same machine and
 * intensity as the engine's own (snap0); under e->lock. */
static void account_xscope(struct jpu_engine *e, const struct jpu_machine *m,
                           const struct jpu_reading *rd, size_t idx, struct jpu_xscope *x,
                           const struct jpu_snapshot *snap0)
{
	const struct jpu_scope_power *p = &rd->power[idx];
	struct jpu_snapshot *s = &x->snap;
	int64_t seq = s->seq;
	uint64_t cpu = m->pkg.any ? p->cpu_uw : 0, dram = m->dram.any ? p->dram_uw : 0, added;

	/* removed since the read stage: its totals are folded already */
	if (x->removed || !x->live)
		return;
	x->alive = x->alive_read;
	if (x->alive)
		x->seen_usec = snap0->t_real_usec;
	memset(s, 0, sizeof *s);
	s->seq = seq + 1;
	s->t_real_usec = snap0->t_real_usec;
	s->interval_usec = m->interval_usec;
	s->scope = x->kind;
	snapshot_parts(e, m, p, s);
	added = add_energy(&x->energy, cpu, dram, p->gpu_uw, m->interval_usec);
	s->has_emissions = snap0->has_emissions;
	s->intensity = snap0->intensity;
	s->intensity_mg = snap0->intensity_mg;
	s->pue_milli = snap0->pue_milli;
	if (s->has_emissions)
		jpu_co2_add(&x->co2, added, s->intensity.mg_per_kwh, e->pue_milli);
	s->co2_ug = x->co2.co2_ug;
	s->energy = x->energy;
	s->energy_total_uj = x->energy.cpu_uj + x->energy.dram_uj + x->energy.gpu_uj;
	s->has_cpu_sensor = snap0->has_cpu_sensor;
	s->has_dram_sensor = snap0->has_dram_sensor;
	s->has_gpu_sensor = snap0->has_gpu_sensor;
	if (x->hist)
		jpu_hist_push(x->hist, x->history_len, &x->hist_head, &x->hist_count, s);
}

/* The account stage, under e->lock: every scope's energy and CO2 over the
 * interval (scope 0 the engine's own, then the tracked trees), and the
 * snapshot of scope 0. */
static void account(struct jpu_engine *e, const struct jpu_machine *m, const struct jpu_reading *rd,
                    struct jpu_snapshot *snap)
{
	memset(snap, 0, sizeof *snap);
	snap->t_real_usec = e->clock_real();
	snap->interval_usec = m->interval_usec;
	snap->scope = e->scope;
	snapshot_parts(e, m, &rd->power[0], snap);
	/* emissions: this interval's energy times the intensity valid now
	 * (the carbon chain never blocks: fetches run on its own thread) */
	snap->has_emissions =
	        jpu_carbon_current(e->carbon, snap->t_real_usec, &snap->intensity) == 0;
	snap->intensity_mg = snap->intensity.mg_per_kwh;
	snap->pue_milli = e->pue_milli;
	for (size_t i = 0; i < 1 + rd->n_tracked; i++) {
		const struct jpu_scope_power *p = &rd->power[i];
		/* scope i > 0 is the sampler's tree i - 1; its tag, if it
		 * was not untracked or re-tracked since the read (tracked.c) */
		struct jpu_tracked *t = i ? jpu_tracked_find(e, i - 1) : NULL;
		uint64_t cpu = m->pkg.any ? p->cpu_uw : 0, dram = m->dram.any ? p->dram_uw : 0;
		uint64_t added;

		if (i && !t)
			continue;
		added = add_energy(t ? &t->energy : &e->energy, cpu, dram, p->gpu_uw,
		                   m->interval_usec);
		if (snap->has_emissions)
			jpu_co2_add(t ? &t->co2 : &e->co2, added, snap->intensity.mg_per_kwh,
			            e->pue_milli);
		if (t) {
			t->power_uw = cpu + dram + p->gpu_uw;
			t->alive = e->trees[i - 1].alive;
		}
	}
	snap->co2_ug = e->co2.co2_ug;
	snap->energy = e->energy;
	snap->has_cpu_sensor = e->cpu_sensor >= 0;
	snap->has_dram_sensor = snap->has_cpu_sensor && e->has_dram_domain;
	snap->has_gpu_sensor = e->has_gpu;
	snap->energy_total_uj = e->energy.cpu_uj + e->energy.dram_uj + e->energy.gpu_uj;
	for (size_t i = 0; i < rd->n_xs; i++)
		account_xscope(e, m, rd, 1 + rd->n_tracked + i, rd->xs[i], snap);
	/* the node's zones and GPU devices, for their own series */
	for (size_t i = 0; i < e->n_zones; i++) {
		struct jpu_zone_rec *z = &e->zones[i];
		const struct jpu_dom_state *st = &e->dstate[z->sensor][z->domain];

		z->present = st->valid;
		z->power_uw = st->valid ? st->power_uw : 0;
		if (st->valid)
			z->energy_uj +=
			        take_energy((double)st->power_uw, m->interval_usec, &z->energy_rem);
	}
}

/* The publish stage, under e->lock: the snapshot readers copy, the history
 * ring, and a wake-up for jpu_engine_wait(). */
static void publish(struct jpu_engine *e, struct jpu_snapshot *snap)
{
	snap->seq = e->snap.seq + 1;
	e->snap = *snap;
	jpu_hist_push(e->hist, e->history_len, &e->hist_head, &e->hist_count, snap);
	pthread_cond_broadcast(&e->published);
}

/* The persist stage: the totals to the state file, after every sample;
 * it also folds dormant tags, with or without a file (state.c). */
static void persist(struct jpu_engine *e)
{
	int r;

	r = jpu_state_save(e);
	if (r < 0)
		jpu_logf(&e->log, JPU_LOG_WARNING, "state file %s: %s", e->state_file,
		         strerror(-r));
}

/* One tick: the data's way through the engine. */
int jpu_engine_tick(struct jpu_engine *e)
{
	struct jpu_reading rd;
	struct jpu_machine m;
	struct jpu_snapshot snap;
	int r;

	/* read: /proc/stat, every scope's CPU time and memory, every sensor */
	r = jpu_read(e, &rd);
	if (r <= 0)
		goto out; /* the baseline, a zero-length interval or an error */
	/* combine: the machine's parts (packages, DRAM, psys, every GPU) */
	jpu_combine(e, &rd, &m);
	/* attribute: each scope's share of each part, idle apart */
	jpu_attribute_scopes(&m, rd.scopes, rd.n_scopes, rd.power);
	pthread_mutex_lock(&e->lock);
	/* account: energy and CO2 of every scope over the interval */
	account(e, &m, &rd, &snap);
	/* publish: the snapshot and the history ring */
	publish(e, &snap);
	pthread_mutex_unlock(&e->lock);
	/* persist: the totals to the state file */
	persist(e);
	r = 1;
out:
	jpu_reading_free(&rd);
	return r;
}
