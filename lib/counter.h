/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One cumulative energy counter (RAPL energy_uj, hwmon energyN_input, a perf
 * count, NVML total energy) turned into power, interval by interval, or
 * into "unknown" with a reason. The rule (docs/attribution.md, "Counters"):
 *
 *  - a step forward is measured power, unless no domain of its kind could
 *    draw it (the kind's cap): then the counter jumped, unknown;
 *  - a step backward is one wrap only when the counter has a known range
 *    and the power the wrap implies is plausible for this domain (twice its
 *    declared hardware limits, or twice the most it has been seen drawing in
 *    this run, never above the kind's cap); otherwise the counter was reset
 *    (driver reload, CPU hotplug, resume): unknown;
 *  - an interval long enough for the plausible power to go round the whole
 *    range could hide a second wrap: refused, unknown;
 *  - a counter that has never moved is not a measurement (virtual PMUs
 *    answer 0 forever): unknown.
 * After any unknown interval the current value is the new baseline, so the
 * next interval measures again; energy is never invented for the gap.
 */
#ifndef JPU_COUNTER_H
#define JPU_COUNTER_H

#include "internal.h"

/* What a counter can do, from what the hardware declares. */
struct jpu_counter_limits {
	uint64_t range_uj;   /* wraps to 0 past this value; 0 = unknown */
	uint64_t ceiling_uw; /* plausible power: 2 x declared limits, else the cap */
	uint64_t cap_uw;     /* no domain of this kind draws more */
};

enum jpu_counter_verdict {
	JPU_COUNTER_POWER = 0, /* measured: *ret_power_uw */
	JPU_COUNTER_WRAPPED,   /* measured across one wrap: *ret_power_uw */
	JPU_COUNTER_BASELINE,  /* first value (or first after a gap): no interval */
	JPU_COUNTER_STILL,     /* has never moved: not a measurement */
	JPU_COUNTER_RESET,     /* went backwards and no plausible wrap explains it */
	JPU_COUNTER_JUMP,      /* went forward faster than its kind can draw */
	JPU_COUNTER_TOO_LONG,  /* the interval could hide a second wrap */
	JPU_COUNTER_NO_TIME,   /* the clock did not advance: nothing measured */
};

/* Per-domain state; zero-initialised = no baseline. */
struct jpu_counter {
	bool have_prev;
	bool moved; /* has advanced since the first value */
	uint64_t prev_uj;
	uint64_t prev_t_usec;
	uint64_t peak_uw; /* most power measured in this run (history) */
	enum jpu_counter_verdict last;
};

/* The limits of a domain of `kind` whose counter wraps at range_uj (0 =
 * unknown) and whose hardware declares at most hw_max_uw (the largest of its
 * power limits and constraint maxima; 0 = unknown). */
void jpu_counter_limits_for(enum jpu_domain_kind kind, uint64_t range_uj, uint64_t hw_max_uw,
                            struct jpu_counter_limits *ret);

/* The same for a sensor's domain: its kind, max_energy_uj, max_power_uw
 * and enforced limit. */
void jpu_counter_limits_of(const struct jpu_domain *d, struct jpu_counter_limits *ret);

/* The power this counter may plausibly draw now: the ceiling, raised by the
 * run's history (2 x peak) up to the cap. */
uint64_t jpu_counter_plausible_uw(const struct jpu_counter *c,
                                  const struct jpu_counter_limits *lim);

/* The longest interval that cannot hide a second wrap at the plausible
 * power; UINT64_MAX when the counter has no known range. */
uint64_t jpu_counter_max_interval_usec(const struct jpu_counter *c,
                                       const struct jpu_counter_limits *lim);

/* Forget the baseline (a failed read): the next value starts anew. The
 * history (peak) is kept. */
void jpu_counter_forget(struct jpu_counter *c);

/* Take a new value read at t_usec (monotonic). Returns the verdict; on
 * JPU_COUNTER_POWER and JPU_COUNTER_WRAPPED writes the interval's mean
 * power to *ret_power_uw. An unknown interval other than BASELINE, STILL
 * and NO_TIME is logged (once per change of verdict) naming `id`; log may
 * be NULL. */
enum jpu_counter_verdict jpu_counter_update(struct jpu_counter *c, uint64_t value_uj,
                                            uint64_t t_usec, const struct jpu_counter_limits *lim,
                                            const char *id, const struct jpu_logger *log,
                                            uint64_t *ret_power_uw);

/* True for the verdicts that carry a power. */
static inline bool jpu_counter_measured(enum jpu_counter_verdict v)
{
	return v == JPU_COUNTER_POWER || v == JPU_COUNTER_WRAPPED;
}

/* "power", "wrapped", "baseline", "still", "reset", "jump", "too-long",
 * "no-time". */
const char *jpu_counter_verdict_name(enum jpu_counter_verdict v);

#endif /* JPU_COUNTER_H */
