/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cumulative energy counters to power: the wrap/reset rule of counter.h.
 *
 * Why a plausibility test: a RAPL counter (powercap energy_uj, a 32-bit
 * MSR in energy units, Documentation/power/powercap/powercap.rst) restarts
 * at 0 after max_energy_range_uj, and it also starts again from about 0
 * when the MSR is reset (resume from suspend, CPU hotplug, driver reload).
 * Both read as "the value went down". Taken as a wrap, a reset adds up to a
 * whole range (262 kJ on Intel, 65 kJ on AMD) in one interval. A genuine
 * wrap implies the power (range - prev + cur) / interval, which must be
 * something the domain can draw; a reset generally implies far more.
 *
 * The caps per kind are physical bounds with a margin, used when the
 * hardware declares nothing (AMD RAPL has no power-limit constraints):
 *  - package, core, uncore, psys: 1000 W, twice the largest server CPU TDP
 *    on sale (500 W: AMD EPYC 9965, Intel Xeon 6980P);
 *  - DRAM: 500 W per package (12 channels x 2 DDR5 RDIMMs at up to ~20 W);
 *  - GPU: 2000 W per device (the largest accelerators draw 1000-1400 W);
 *  - other (whole-machine meters such as acpi_power_meter): 20 kW.
 * With declared limits (RAPL constraints: PL1 long_term, PL2 short_term,
 * PL4 peak_power and their max_power_uw, from intel_rapl_common.c; NVML's
 * enforced limit) the ceiling is twice the largest: averaged over an
 * interval, a package stays under its largest limit, and the factor 2
 * covers limits raised at run time and counter-update jitter on short
 * intervals. Boards that declare "unlimited" (4095 W) fall back to the cap.
 */
#include <stdio.h>

#include "counter.h"

#define W_TO_UW 1000000ULL

static uint64_t kind_cap_uw(enum jpu_domain_kind kind)
{
	switch (kind) {
	case JPU_DOM_PACKAGE:
	case JPU_DOM_CORE:
	case JPU_DOM_UNCORE:
	case JPU_DOM_PSYS:
		return 1000 * W_TO_UW;
	case JPU_DOM_DRAM:
		return 500 * W_TO_UW;
	case JPU_DOM_GPU:
		return 2000 * W_TO_UW;
	case JPU_DOM_OTHER:
		break;
	}
	return 20000 * W_TO_UW;
}

void jpu_counter_limits_for(enum jpu_domain_kind kind, uint64_t range_uj, uint64_t hw_max_uw,
                            struct jpu_counter_limits *ret)
{
	uint64_t cap = kind_cap_uw(kind);

	ret->range_uj = range_uj;
	ret->cap_uw = cap;
	/* hw_max_uw <= cap / 2 also keeps 2 x hw_max_uw from overflowing */
	ret->ceiling_uw = hw_max_uw > 0 && hw_max_uw <= cap / 2 ? 2 * hw_max_uw : cap;
}

void jpu_counter_limits_of(const struct jpu_domain *d, struct jpu_counter_limits *ret)
{
	uint64_t hw = d->max_power_uw;

	if (d->has_limit && d->limit_uw > hw)
		hw = d->limit_uw;
	jpu_counter_limits_for(d->kind, d->max_energy_uj, hw, ret);
}

uint64_t jpu_counter_plausible_uw(const struct jpu_counter *c, const struct jpu_counter_limits *lim)
{
	uint64_t p = lim->ceiling_uw;

	/* a domain seen drawing P in this run can draw 2P: limits read at probe
	 * may have been raised since (thermald, tuned, an administrator) */
	if (c->peak_uw > p / 2)
		p = c->peak_uw <= lim->cap_uw / 2 ? 2 * c->peak_uw : lim->cap_uw;
	return p < lim->cap_uw ? p : lim->cap_uw;
}

uint64_t jpu_counter_max_interval_usec(const struct jpu_counter *c,
                                       const struct jpu_counter_limits *lim)
{
	uint64_t p = jpu_counter_plausible_uw(c, lim);
	long double t;

	if (lim->range_uj == 0 || p == 0)
		return UINT64_MAX;
	t = (long double)lim->range_uj * W_TO_UW / (long double)p;
	return t >= (long double)UINT64_MAX ? UINT64_MAX : (uint64_t)t;
}

void jpu_counter_forget(struct jpu_counter *c)
{
	c->have_prev = false;
}

const char *jpu_counter_verdict_name(enum jpu_counter_verdict v)
{
	static const char *const names[] = {
	        [JPU_COUNTER_POWER] = "power",       [JPU_COUNTER_WRAPPED] = "wrapped",
	        [JPU_COUNTER_BASELINE] = "baseline", [JPU_COUNTER_STILL] = "still",
	        [JPU_COUNTER_RESET] = "reset",       [JPU_COUNTER_JUMP] = "jump",
	        [JPU_COUNTER_TOO_LONG] = "too-long", [JPU_COUNTER_NO_TIME] = "no-time",
	};

	return (unsigned)v < JPU_ARRAY_SIZE(names) ? names[v] : "unknown";
}

/* mean power of delta_uj over dt_usec, as a long double (delta may be up to
 * 2^64 µJ for a perf counter: no integer product fits) */
static long double power_of(uint64_t delta_uj, uint64_t dt_usec)
{
	return (long double)delta_uj * W_TO_UW / (long double)dt_usec;
}

static void log_unknown(const struct jpu_counter *c, enum jpu_counter_verdict v, uint64_t value_uj,
                        long double implied_uw, uint64_t dt_usec,
                        const struct jpu_counter_limits *lim, const char *id,
                        const struct jpu_logger *log)
{
	uint64_t plaus = jpu_counter_plausible_uw(c, lim);

	switch (v) {
	case JPU_COUNTER_RESET:
		if (lim->range_uj == 0)
			jpu_logf(log, JPU_LOG_WARNING,
			         "%s: counter went backwards (%llu -> %llu) with no known range: "
			         "a reset, this interval is unknown",
			         id, (unsigned long long)c->prev_uj, (unsigned long long)value_uj);
		else
			jpu_logf(log, JPU_LOG_WARNING,
			         "%s: counter went backwards (%llu -> %llu); a wrap would mean "
			         "%.0Lf W, above the %llu W this domain can draw: a reset, this "
			         "interval is unknown",
			         id, (unsigned long long)c->prev_uj, (unsigned long long)value_uj,
			         implied_uw / W_TO_UW, (unsigned long long)(plaus / W_TO_UW));
		break;
	case JPU_COUNTER_JUMP:
		jpu_logf(log, JPU_LOG_WARNING,
		         "%s: counter jumped (%llu -> %llu): %.0Lf W, above the %llu W no such "
		         "domain exceeds: this interval is unknown",
		         id, (unsigned long long)c->prev_uj, (unsigned long long)value_uj,
		         implied_uw / W_TO_UW, (unsigned long long)(lim->cap_uw / W_TO_UW));
		break;
	case JPU_COUNTER_TOO_LONG:
		jpu_logf(log, JPU_LOG_WARNING,
		         "%s: an interval of %llu ms could hide two wraps of its %llu J range at "
		         "up to %llu W: unknown; sample at least every %llu ms",
		         id, (unsigned long long)(dt_usec / 1000),
		         (unsigned long long)(lim->range_uj / W_TO_UW),
		         (unsigned long long)(plaus / W_TO_UW),
		         (unsigned long long)(jpu_counter_max_interval_usec(c, lim) / 1000));
		break;
	default:
		break;
	}
}

enum jpu_counter_verdict jpu_counter_update(struct jpu_counter *c, uint64_t value_uj,
                                            uint64_t t_usec, const struct jpu_counter_limits *lim,
                                            const char *id, const struct jpu_logger *log,
                                            uint64_t *ret_power_uw)
{
	enum jpu_counter_verdict v;
	long double implied = 0.0L;
	uint64_t dt = 0, delta = 0;

	if (!c->have_prev) {
		v = JPU_COUNTER_BASELINE;
		goto rebase;
	}
	if (t_usec <= c->prev_t_usec)
		return JPU_COUNTER_NO_TIME; /* keep the older baseline */
	dt = t_usec - c->prev_t_usec;

	/* at the plausible power the counter goes round in range/power: an
	 * interval that long could hold a second, invisible wrap */
	if (lim->range_uj && dt >= jpu_counter_max_interval_usec(c, lim)) {
		v = JPU_COUNTER_TOO_LONG;
		goto unknown;
	}
	if (value_uj >= c->prev_uj) {
		delta = value_uj - c->prev_uj;
		if (delta == 0 && !c->moved) {
			v = JPU_COUNTER_STILL;
			goto rebase;
		}
		implied = power_of(delta, dt);
		/* a direct reading: only what no such domain can draw is refused */
		if (implied > (long double)lim->cap_uw) {
			v = JPU_COUNTER_JUMP;
			goto unknown;
		}
		v = JPU_COUNTER_POWER;
	} else {
		/* the powercap counter restarts at 0 after max_energy_range_uj */
		if (lim->range_uj == 0 || c->prev_uj > lim->range_uj) {
			v = JPU_COUNTER_RESET;
			goto unknown;
		}
		delta = (lim->range_uj - c->prev_uj) + value_uj;
		implied = power_of(delta, dt);
		/* an interpretation: it must be plausible for this domain */
		if (implied > (long double)jpu_counter_plausible_uw(c, lim)) {
			v = JPU_COUNTER_RESET;
			goto unknown;
		}
		v = JPU_COUNTER_WRAPPED;
	}
	c->moved = c->moved || delta > 0;
	*ret_power_uw = (uint64_t)(implied + 0.5L);
	if (*ret_power_uw > c->peak_uw)
		c->peak_uw = *ret_power_uw;
	c->last = v;
	c->prev_uj = value_uj;
	c->prev_t_usec = t_usec;
	return v;

unknown:
	if (v != c->last)
		log_unknown(c, v, value_uj, implied, dt, lim, id, log);
rebase:
	c->last = v;
	c->have_prev = true;
	c->prev_uj = value_uj;
	c->prev_t_usec = t_usec;
	return v;
}
