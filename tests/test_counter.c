/* SPDX-License-Identifier: BSD-3-Clause */
/* The counter rule (lib/counter.c): wraps, resets, jumps, long intervals. */
#include "check.h"
#include "counter.h"

#define PKG_MAX 262143328850ULL /* Intel package: 2^32 x 61 µJ */
#define AMD_MAX 65532610987ULL  /* AMD package, server DRAM: 2^32 x 15.3 µJ */
#define SEC     1000000ULL
#define W       1000000ULL
/* perf: 2^64 counts of 2^-32 J, as perf.c converts it */
#define PERF_MAX 4294967296000000ULL

static unsigned n_logged;
static char last_msg[512];

static void count_log(int level, const char *msg, void *userdata)
{
	(void)level;
	(void)userdata;
	n_logged++;
	snprintf(last_msg, sizeof last_msg, "%s", msg);
}

static const struct jpu_logger logger = {count_log, NULL};

/* One update; returns the verdict, *pw = the power or UINT64_MAX. */
static enum jpu_counter_verdict upd(struct jpu_counter *c, uint64_t v, uint64_t t,
                                    const struct jpu_counter_limits *lim, uint64_t *pw)
{
	*pw = UINT64_MAX;
	return jpu_counter_update(c, v, t, lim, "intel-rapl:0", &logger, pw);
}

static void test_limits(void)
{
	struct jpu_counter_limits lim;
	struct jpu_domain d = {.kind = JPU_DOM_PACKAGE, .max_energy_uj = PKG_MAX};

	/* declared limits: twice the largest */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, PKG_MAX, 180 * W, &lim);
	CHECK_EQ_U64(lim.range_uj, PKG_MAX);
	CHECK_EQ_U64(lim.ceiling_uw, 360 * W);
	CHECK_EQ_U64(lim.cap_uw, 1000 * W);
	/* nothing declared (AMD): the kind's cap */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, AMD_MAX, 0, &lim);
	CHECK_EQ_U64(lim.ceiling_uw, 1000 * W);
	/* "unlimited" boards (4095.875 W): the cap, never above it */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, PKG_MAX, 4095875000ULL, &lim);
	CHECK_EQ_U64(lim.ceiling_uw, 1000 * W);
	jpu_counter_limits_for(JPU_DOM_PACKAGE, PKG_MAX, UINT64_MAX, &lim);
	CHECK_EQ_U64(lim.ceiling_uw, 1000 * W);
	jpu_counter_limits_for(JPU_DOM_DRAM, AMD_MAX, 0, &lim);
	CHECK_EQ_U64(lim.cap_uw, 500 * W);
	jpu_counter_limits_for(JPU_DOM_GPU, 0, 700 * W, &lim);
	CHECK_EQ_U64(lim.ceiling_uw, 1400 * W);
	CHECK_EQ_U64(lim.cap_uw, 2000 * W);
	jpu_counter_limits_for(JPU_DOM_OTHER, 0, 0, &lim);
	CHECK_EQ_U64(lim.cap_uw, 20000 * W);
	/* a domain: the larger of its enforced limit and its declared maxima */
	d.has_limit = true;
	d.limit_uw = 125 * W;
	d.max_power_uw = 100 * W;
	jpu_counter_limits_of(&d, &lim);
	CHECK_EQ_U64(lim.ceiling_uw, 250 * W);
	d.max_power_uw = 253 * W;
	jpu_counter_limits_of(&d, &lim);
	CHECK_EQ_U64(lim.ceiling_uw, 506 * W);
	CHECK_EQ_U64(lim.range_uj, PKG_MAX);
}

static void test_forward_and_wrap(void)
{
	struct jpu_counter c = {0};
	struct jpu_counter_limits lim;
	uint64_t pw, t = 10 * SEC;

	jpu_counter_limits_for(JPU_DOM_PACKAGE, PKG_MAX, 150 * W, &lim);
	n_logged = 0;
	CHECK_EQ_INT(upd(&c, PKG_MAX - 100 * W, t, &lim, &pw), JPU_COUNTER_BASELINE);
	CHECK_EQ_U64(pw, UINT64_MAX);
	t += SEC;
	CHECK_EQ_INT(upd(&c, PKG_MAX - 15 * W, t, &lim, &pw), JPU_COUNTER_POWER);
	CHECK_EQ_U64(pw, 85 * W);
	/* 85 W across the top of the range: (15 J to the top) + 70 J */
	t += SEC;
	CHECK_EQ_INT(upd(&c, 70 * W, t, &lim, &pw), JPU_COUNTER_WRAPPED);
	CHECK_EQ_U64(pw, 85 * W);
	/* a wrap at the very ceiling (300 W over 2 s) is still a wrap */
	c.prev_uj = PKG_MAX - 100 * W;
	t += 2 * SEC;
	CHECK_EQ_INT(upd(&c, 500 * W, t, &lim, &pw), JPU_COUNTER_WRAPPED);
	CHECK_EQ_U64(pw, 300 * W);
	CHECK_EQ_U64(n_logged, 0); /* measured intervals are not logged */
}

static void test_reset(void)
{
	struct jpu_counter c = {0};
	struct jpu_counter_limits lim;
	uint64_t pw, t = 10 * SEC;

	jpu_counter_limits_for(JPU_DOM_PACKAGE, PKG_MAX, 150 * W, &lim);
	n_logged = 0;
	upd(&c, 200000 * W, t, &lim, &pw);
	t += SEC;
	CHECK_EQ_INT(upd(&c, 200000 * W + 60 * W, t, &lim, &pw), JPU_COUNTER_POWER);
	/* resume from suspend: the MSR starts again near 0. As a wrap it would
	 * be 62 kJ in 1 s: a reset, unknown, logged */
	t += SEC;
	CHECK_EQ_INT(upd(&c, 2 * W, t, &lim, &pw), JPU_COUNTER_RESET);
	CHECK_EQ_U64(pw, UINT64_MAX);
	CHECK_EQ_U64(n_logged, 1);
	CHECK(strstr(last_msg, "intel-rapl:0") && strstr(last_msg, "reset"));
	/* measured again from the value after the reset */
	t += SEC;
	CHECK_EQ_INT(upd(&c, 62 * W, t, &lim, &pw), JPU_COUNTER_POWER);
	CHECK_EQ_U64(pw, 60 * W);
	/* the peak did not learn the reset: still 300 W plausible */
	CHECK_EQ_U64(jpu_counter_plausible_uw(&c, &lim), 300 * W);
	/* a counter with no known range that goes back: a reset */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, 0, 0, &lim);
	t += SEC;
	CHECK_EQ_INT(upd(&c, 1 * W, t, &lim, &pw), JPU_COUNTER_RESET);
	/* a previous value above the range cannot wrap */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, AMD_MAX, 0, &lim);
	c.prev_uj = AMD_MAX + 100;
	t += SEC;
	CHECK_EQ_INT(upd(&c, 50, t, &lim, &pw), JPU_COUNTER_RESET);
	/* the same verdict again: logged once, not every tick */
	n_logged = 0;
	c.prev_uj = AMD_MAX + 100;
	t += SEC;
	CHECK_EQ_INT(upd(&c, 50, t, &lim, &pw), JPU_COUNTER_RESET);
	CHECK_EQ_U64(n_logged, 0);
}

/* AMD: no declared limits, the kind's cap (1000 W) decides */
static void test_reset_amd(void)
{
	struct jpu_counter c = {0};
	struct jpu_counter_limits lim;
	uint64_t pw, t = SEC;

	jpu_counter_limits_for(JPU_DOM_PACKAGE, AMD_MAX, 0, &lim);
	upd(&c, 30000 * W, t, &lim, &pw);
	t += SEC;
	CHECK_EQ_INT(upd(&c, 1 * W, t, &lim, &pw), JPU_COUNTER_RESET);
	/* a genuine wrap at 280 W */
	c.prev_uj = AMD_MAX - 200 * W;
	t += SEC;
	CHECK_EQ_INT(upd(&c, 80 * W, t, &lim, &pw), JPU_COUNTER_WRAPPED);
	CHECK_EQ_U64(pw, 280 * W);
}

/* perf: a 64-bit count; reopening the event starts it at 0 again */
static void test_perf_range(void)
{
	struct jpu_counter c = {0};
	struct jpu_counter_limits lim;
	uint64_t pw, t = SEC;

	jpu_counter_limits_for(JPU_DOM_PACKAGE, PERF_MAX, 0, &lim);
	upd(&c, 5000 * W, t, &lim, &pw);
	t += SEC;
	CHECK_EQ_INT(upd(&c, 5100 * W, t, &lim, &pw), JPU_COUNTER_POWER);
	CHECK_EQ_U64(pw, 100 * W);
	t += SEC;
	CHECK_EQ_INT(upd(&c, 3 * W, t, &lim, &pw), JPU_COUNTER_RESET);
	CHECK_EQ_U64(pw, UINT64_MAX);
	/* the range is never reached at plausible powers: any interval goes */
	CHECK(jpu_counter_max_interval_usec(&c, &lim) > 3600 * SEC);
	/* and the top of the count wraps like any counter */
	c.prev_uj = PERF_MAX - 50 * W;
	t += SEC;
	CHECK_EQ_INT(upd(&c, 50 * W, t, &lim, &pw), JPU_COUNTER_WRAPPED);
	CHECK_EQ_U64(pw, 100 * W);
}

static void test_jump_still_time(void)
{
	struct jpu_counter c = {0};
	struct jpu_counter_limits lim;
	uint64_t pw, t = SEC;

	/* hwmon energyN_input: no range */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, 0, 0, &lim);
	n_logged = 0;
	CHECK_EQ_INT(upd(&c, 1000, t, &lim, &pw), JPU_COUNTER_BASELINE);
	/* never moved: not a measurement */
	t += SEC;
	CHECK_EQ_INT(upd(&c, 1000, t, &lim, &pw), JPU_COUNTER_STILL);
	CHECK_EQ_U64(pw, UINT64_MAX);
	t += SEC;
	CHECK_EQ_INT(upd(&c, 1000 + 40 * W, t, &lim, &pw), JPU_COUNTER_POWER);
	/* once it has moved, standing still is 0 W */
	t += SEC;
	CHECK_EQ_INT(upd(&c, 1000 + 40 * W, t, &lim, &pw), JPU_COUNTER_POWER);
	CHECK_EQ_U64(pw, 0);
	/* 5 kW forward from a CPU package: a jump, unknown, logged */
	t += SEC;
	CHECK_EQ_INT(upd(&c, 1000 + 5040 * W, t, &lim, &pw), JPU_COUNTER_JUMP);
	CHECK_EQ_U64(pw, UINT64_MAX);
	CHECK_EQ_U64(n_logged, 1);
	/* the clock standing still measures nothing and keeps the baseline */
	CHECK_EQ_INT(upd(&c, 1000 + 5050 * W, t, &lim, &pw), JPU_COUNTER_NO_TIME);
	t += SEC;
	CHECK_EQ_INT(upd(&c, 1000 + 5060 * W, t, &lim, &pw), JPU_COUNTER_POWER);
	CHECK_EQ_U64(pw, 20 * W);
	/* a failed read in between: the next value is a baseline */
	jpu_counter_forget(&c);
	t += SEC;
	CHECK_EQ_INT(upd(&c, 7, t, &lim, &pw), JPU_COUNTER_BASELINE);
}

static void test_too_long(void)
{
	struct jpu_counter c = {0};
	struct jpu_counter_limits lim;
	uint64_t pw, t = SEC;

	/* AMD package, nothing declared: at 1000 W the 65.5 kJ range goes round
	 * in 65.5 s */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, AMD_MAX, 0, &lim);
	CHECK_EQ_U64(jpu_counter_max_interval_usec(&c, &lim), AMD_MAX / 1000);
	upd(&c, 1000 * W, t, &lim, &pw);
	/* 70 s: even a step forward could be one more round: refused */
	t += 70 * SEC;
	n_logged = 0;
	CHECK_EQ_INT(upd(&c, 2000 * W, t, &lim, &pw), JPU_COUNTER_TOO_LONG);
	CHECK_EQ_U64(pw, UINT64_MAX);
	CHECK_EQ_U64(n_logged, 1);
	CHECK(strstr(last_msg, "65532 ms") != NULL);
	/* and measured again over a short one */
	t += 60 * SEC;
	CHECK_EQ_INT(upd(&c, 2000 * W + 6000 * W, t, &lim, &pw), JPU_COUNTER_POWER);
	CHECK_EQ_U64(pw, 100 * W);
	/* an Intel package at 2 x 150 W: 873 s */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, PKG_MAX, 150 * W, &lim);
	memset(&c, 0, sizeof c);
	CHECK_EQ_U64(jpu_counter_max_interval_usec(&c, &lim) / SEC, 873);
	/* no range: nothing to hide */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, 0, 0, &lim);
	CHECK_EQ_U64(jpu_counter_max_interval_usec(&c, &lim), UINT64_MAX);
}

/* History: limits read at probe can be raised later; what the domain has
 * been seen drawing keeps its wraps plausible */
static void test_history(void)
{
	struct jpu_counter c = {0}, fresh = {0};
	struct jpu_counter_limits lim;
	uint64_t pw, t = SEC;

	/* PL1 15 W declared: ceiling 30 W */
	jpu_counter_limits_for(JPU_DOM_PACKAGE, PKG_MAX, 15 * W, &lim);
	CHECK_EQ_U64(jpu_counter_plausible_uw(&c, &lim), 30 * W);
	upd(&c, 1000 * W, t, &lim, &pw);
	t += SEC;
	/* 28 W forward is measured (below the 1000 W cap) */
	CHECK_EQ_INT(upd(&c, 1028 * W, t, &lim, &pw), JPU_COUNTER_POWER);
	CHECK_EQ_U64(jpu_counter_plausible_uw(&c, &lim), 56 * W);
	/* a wrap at 50 W: plausible for this counter, not for a fresh one */
	c.prev_uj = fresh.prev_uj = PKG_MAX - 20 * W;
	fresh.have_prev = true;
	fresh.prev_t_usec = t;
	t += SEC;
	CHECK_EQ_INT(upd(&fresh, 30 * W, t, &lim, &pw), JPU_COUNTER_RESET);
	CHECK_EQ_INT(upd(&c, 30 * W, t, &lim, &pw), JPU_COUNTER_WRAPPED);
	CHECK_EQ_U64(pw, 50 * W);
	/* history never lifts it above the kind's cap */
	c.peak_uw = 900 * W;
	CHECK_EQ_U64(jpu_counter_plausible_uw(&c, &lim), 1000 * W);
	CHECK_STR(jpu_counter_verdict_name(JPU_COUNTER_TOO_LONG), "too-long");
	CHECK_STR(jpu_counter_verdict_name((enum jpu_counter_verdict)99), "unknown");
}

int main(void)
{
	test_limits();
	test_forward_and_wrap();
	test_reset();
	test_reset_amd();
	test_perf_range();
	test_jump_still_time();
	test_too_long();
	test_history();
	return check_summary();
}
