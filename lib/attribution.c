/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split measured power into the part a scope caused and the machine's idle
 * power, as Kepler does (github.com/sustainable-computing-io/kepler, "ratio"
 * model): over an interval, active = measured x host busy ratio and idle =
 * the rest. It needs no learned idle baseline, so a fully busy machine is
 * all active. The scope gets active x (scope CPU time / host busy CPU time)
 * plus an idle share chosen by the policy (docs/attribution.md).
 */
#include "internal.h"

static double clamp01(double x)
{
	if (!(x > 0.0)) /* also catches NaN */
		return 0.0;
	return x > 1.0 ? 1.0 : x;
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
	switch (in->policy) {
	case JPU_IDLE_BUSY:
		/* the original extension's arithmetic: measured x share */
		idle_given = idle * share;
		break;
	case JPU_IDLE_EVEN:
		/* idle split evenly among the users that ran this interval */
		if (in->scope_ticks > 0 && in->active_users > 0)
			idle_given = idle / (double)in->active_users;
		break;
	case JPU_IDLE_NONE:
	default:
		break;
	}
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
