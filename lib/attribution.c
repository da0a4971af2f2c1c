/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split measured power into the part a scope caused and the machine's idle
 * power, as Kepler does (github.com/sustainable-computing-io/kepler, "ratio"
 * model): over an interval, active = measured x host busy ratio and idle =
 * the rest. It needs no learned idle baseline, so a fully busy machine is
 * all active. The scope gets active x (scope CPU time / host busy CPU time)
 * plus an idle share chosen by the policy (docs/attribution.md).
 *
 * jpu_attribute_scopes() is the attribute stage of a tick: the same split
 * for every part (packages, DRAM, GPUs) and every scope of one reading.
 */
#include <string.h>

#include "internal.h"

static double clamp01(double x)
{
	if (!(x > 0.0)) /* also catches NaN */
		return 0.0;
	return x > 1.0 ? 1.0 : x;
}

/* The part of `idle` a scope gets under the policy. */
static double idle_share(double idle, enum jpu_idle_policy policy, double share,
                         uint64_t scope_ticks, unsigned active_users)
{
	switch (policy) {
	case JPU_IDLE_BUSY:
		/* the original extension's arithmetic: measured x share */
		return idle * share;
	case JPU_IDLE_EVEN:
		/* idle split evenly among the users that ran this interval */
		if (scope_ticks > 0 && active_users > 0)
			return idle / (double)active_users;
		return 0.0;
	case JPU_IDLE_NONE:
	default:
		return 0.0;
	}
}

void jpu_attribute(const struct jpu_attr_in *in, struct jpu_attr_out *out)
{
	double busy_ratio = 0.0, share, scope_uw, idle_given = 0.0;
	double active, idle;

	/* an interval with no CPU time at all (static fixtures, a frozen
	 * clock) counts as idle: nothing ran, so nothing is active */
	if (in->host_all_ticks > 0)
		busy_ratio = clamp01((double)in->host_busy_ticks / (double)in->host_all_ticks);
	active = (double)in->measured_uw * busy_ratio;
	idle = (double)in->measured_uw - active;

	if (in->scope_is_system) {
		/* the system scope is always the whole measured power */
		out->active_uw = (uint64_t)(active + 0.5);
		out->idle_uw = in->measured_uw - out->active_uw;
		out->scope_uw = in->measured_uw;
		out->unattributed_idle_uw = 0;
		out->share = 1.0;
		return;
	}

	share = in->host_busy_ticks > 0
	                ? clamp01((double)in->scope_ticks / (double)in->host_busy_ticks)
	                : 0.0;
	scope_uw = active * share;
	idle_given = idle_share(idle, in->policy, share, in->scope_ticks, in->active_users);
	scope_uw += idle_given;

	out->active_uw = (uint64_t)(active + 0.5);
	out->idle_uw = in->measured_uw - out->active_uw;
	out->scope_uw = (uint64_t)(scope_uw + 0.5);
	if (out->scope_uw > in->measured_uw)
		out->scope_uw = in->measured_uw;
	out->unattributed_idle_uw = (uint64_t)(idle - idle_given + 0.5);
	if (out->unattributed_idle_uw > out->idle_uw)
		out->unattributed_idle_uw = out->idle_uw;
	out->share = share;
}

/* DRAM: active power follows memory, not CPU time (the scope's resident
 * memory over the memory in use); idle goes by the policy as for the
 * packages, "busy" by memory share. */
static void attribute_dram(const struct jpu_attr_in *ain, uint64_t dram_uw, double mem_share,
                           struct jpu_scope_power *o)
{
	struct jpu_attr_in din = *ain;
	struct jpu_attr_out d;
	double given_idle;

	din.measured_uw = dram_uw;
	jpu_attribute(&din, &d);
	if (din.scope_is_system) {
		o->dram_uw = d.scope_uw;
		o->dram_idle_uw = d.unattributed_idle_uw;
		return;
	}
	given_idle = (double)d.idle_uw - (double)d.unattributed_idle_uw;
	if (ain->policy == JPU_IDLE_BUSY)
		given_idle = (double)d.idle_uw * mem_share;
	o->dram_uw = (uint64_t)((double)d.active_uw * mem_share + given_idle + 0.5);
	o->dram_idle_uw =
	        d.idle_uw - (uint64_t)(given_idle + 0.5 < (double)d.idle_uw ? given_idle + 0.5
	                                                                    : (double)d.idle_uw);
}

/* GPUs, device by device. With per-process figures a device's power goes
 * to its processes by SM utilisation; a device none of them used is idle,
 * reported apart and shared only by the idle policy, like the CPU's idle
 * power (NVML answers NOT_FOUND: no samples, the normal idle case). Only
 * a backend that cannot tell processes apart at all gives the scope the
 * whole device, and the sample says so. */
static void attribute_gpus(const struct jpu_machine *m, const struct jpu_scope_in *in,
                           const struct jpu_attr_in *ain, double share, struct jpu_scope_power *o)
{
	uint64_t mine[JPU_MAX_GPUS] = {0};

	if (!in->is_system && in->contains)
		for (size_t i = 0; i < m->n_procs; i++) {
			const struct jpu_gpu_proc *p = &m->procs[i];

			if (p->device < m->n_gpus && in->contains(in->arg, p->pid))
				mine[p->device] += p->sm_util;
		}
	for (unsigned g = 0; g < m->n_gpus; g++) {
		const struct jpu_machine_gpu *mg = &m->gpus[g];
		double power = (double)mg->power_uw, use;

		if (in->is_system) {
			use = power;
		} else if (!mg->per_process) {
			use = power;
			o->gpu_whole_device = true;
		} else if (mg->util_sum > 0) {
			use = power * (double)mine[g] / (double)mg->util_sum;
		} else {
			use = idle_share(power, ain->policy, share, ain->scope_ticks,
			                 ain->active_users);
		}
		o->gpu_dev_uw[g] = (uint64_t)(use + 0.5);
		if (o->gpu_dev_uw[g] > mg->power_uw)
			o->gpu_dev_uw[g] = mg->power_uw;
		if (!in->is_system && mg->per_process && mg->util_sum == 0)
			o->gpu_idle_uw += mg->power_uw - o->gpu_dev_uw[g];
		o->gpu_uw += o->gpu_dev_uw[g];
	}
}

void jpu_attribute_scopes(const struct jpu_machine *m, const struct jpu_scope_in *in, size_t n,
                          struct jpu_scope_power *out)
{
	for (size_t i = 0; i < n; i++) {
		struct jpu_scope_power *o = &out[i];
		struct jpu_attr_in ain = {
		        .measured_uw = m->pkg.uw,
		        .host_busy_ticks = m->host_busy_ticks,
		        .host_all_ticks = m->host_all_ticks,
		        .scope_ticks = in[i].is_system ? m->host_busy_ticks : in[i].cpu_ticks,
		        .active_users = m->active_users,
		        .scope_is_system = in[i].is_system,
		        .policy = m->policy,
		};
		struct jpu_attr_out cpu;
		double mem_share = 1.0;

		memset(o, 0, sizeof *o);
		if (!in[i].measured)
			continue; /* nothing known of it: nothing given */
		jpu_attribute(&ain, &cpu);
		o->cpu_uw = cpu.scope_uw;
		o->cpu_idle_uw = cpu.unattributed_idle_uw;
		o->share = cpu.share;
		if (!in[i].is_system) {
			mem_share = m->mem_used_bytes > 0
			                    ? (double)in[i].rss_bytes / (double)m->mem_used_bytes
			                    : 0.0;
			mem_share = clamp01(mem_share);
		}
		o->mem_share = mem_share;
		attribute_dram(&ain, m->dram.uw, mem_share, o);
		attribute_gpus(m, &in[i], &ain, cpu.share, o);
	}
}
