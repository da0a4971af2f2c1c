/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine end to end on a synthetic machine: the fake backend's domains
 * file and a throw-away /proc are rewritten between samples, and the clocks
 * are replaced, so every figure is known exactly. Covers the domain logic
 * (psys apart, wrap, reset), attribution and its conservation, idle
 * policies, tracked trees, the history ring, the state file and the
 * writers' rules (absent parts left out, never 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"
#include "world.h"

static char *json_of(jpu_engine *e)
{
	char *j = NULL;

	CHECK_EQ_INT(jpu_engine_json(e, &j), 0);
	return j ? j : strdup("");
}

static void test_system_psys_dram(void)
{
	struct world w;
	jpu_engine *e;
	jpu_summary s = {.sz = sizeof s};
	char *j;

	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, "package package-0 energy_uj=1000000 max=262143328850 limit=15000000\n"
	                  "dram dram energy_uj=0 max=65532610987\n"
	                  "psys psys energy_uj=0 max=262143328850\n"
	                  "core core energy_uj=0\n");
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	CHECK_EQ_INT(jpu_engine_sample(e), 0); /* baseline */
	CHECK_EQ_INT(jpu_engine_json(e, &j), -EAGAIN);
	world_advance(1000000);
	w.busy += 50;
	w.idle += 50;
	world_stat(&w);
	/* 10 W package, 2 W DRAM, 20 W psys, 8 W core over 1 s */
	world_domains(&w, "package package-0 energy_uj=11000000 max=262143328850 limit=15000000\n"
	                  "dram dram energy_uj=2000000 max=65532610987\n"
	                  "psys psys energy_uj=20000000 max=262143328850\n"
	                  "core core energy_uj=8000000\n");
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_engine_summary(e, &s), 0);
	/* psys is not added; core is inside the package */
	CHECK_EQ_U64(s.cpu_total_uw, 12000000);
	CHECK_EQ_U64(s.cpu_usage_uw, 12000000);
	CHECK_EQ_U64(s.dram_total_uw, 2000000);
	CHECK_EQ_U64(s.psys_uw, 20000000);
	CHECK_EQ_U64(s.energy_uj, 12000000);
	j = json_of(e);
	CHECK(strstr(j, "\"cpu\":{\"usage\":12.000000,\"limit\":15.000000,\"total\":12.000000") !=
	      NULL);
	CHECK(strstr(j, "\"psys\":{\"total\":20.000000,\"source\":\"fake\"}") != NULL);
	CHECK(strstr(j, "\"gpu\":{") == NULL); /* absent, never 0 */
	CHECK(strstr(j, "\"energy_j\":{\"cpu\":10.000000,\"dram\":2.000000,\"total\":12.000000}") !=
	      NULL);
	CHECK(strstr(j, "\"time\":\"2026-11-25T") != NULL);
	free(j);
	jpu_engine_free(e);
	world_fini(&w);
}

static void test_wrap_and_reset(void)
{
	struct world w;
	jpu_engine *e;
	jpu_summary s = {.sz = sizeof s};
	char *j;

	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, "package p0 energy_uj=262143000000 max=262143328850\n"
	                  "package p1 energy_uj=5000000\n");
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	jpu_engine_sample(e);
	world_advance(2000000);
	/* p0 wraps: (262143328850 - 262143000000) + 671150 = 1000000 µJ in 2 s;
	 * p1 moves 4 J */
	world_domains(&w, "package p0 energy_uj=671150 max=262143328850\n"
	                  "package p1 energy_uj=9000000\n");
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	jpu_engine_summary(e, &s);
	CHECK(s.has_cpu);
	CHECK_EQ_U64(s.cpu_total_uw, 500000 + 2000000);
	world_advance(1000000);
	/* p1 goes backwards with no known range: a reset, the sum unknown */
	world_domains(&w, "package p0 energy_uj=1671150 max=262143328850\n"
	                  "package p1 energy_uj=100\n");
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	jpu_engine_summary(e, &s);
	CHECK(!s.has_cpu);
	j = json_of(e);
	CHECK(strstr(j, "\"cpu\":{") == NULL);
	free(j);
	/* and the next interval measures again from the new baseline */
	world_advance(1000000);
	world_domains(&w, "package p0 energy_uj=2671150 max=262143328850\n"
	                  "package p1 energy_uj=3000100\n");
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	jpu_engine_summary(e, &s);
	CHECK(s.has_cpu);
	CHECK_EQ_U64(s.cpu_total_uw, 4000000);
	/* energy never went backwards: 2.5 W x 2 s + 4 W x 1 s */
	CHECK_EQ_U64(s.energy_uj, 5000000 + 4000000);
	/* a zero-length interval yields no sample */
	CHECK_EQ_INT(jpu_engine_sample(e), 0);
	jpu_engine_free(e);
	world_fini(&w);
}

/* A RAPL package counter reset mid-run (resume, hotplug, driver reload)
 * and a genuine wrap in the same run: the wrap is counted, the reset adds
 * no energy and no CO2, and no sample exceeds what the packages can draw. */
static void test_reset_is_not_a_wrap(void)
{
	struct world w;
	jpu_engine_opts c = {.sz = sizeof c};
	jpu_summary s = {.sz = sizeof s};
	jpu_engine *e = NULL;
	char text[256], *j;
	/* p0 steps of 85 J (85 W), from 200 J below the top of its range: it
	 * wraps in step 3; in step 5 it resets to 2 J. p1 draws 50 W. */
	static const uint64_t p0[] = {
	        261943328850ULL, 262028328850ULL, 262113328850ULL, 55000000ULL,
	        140000000ULL,    2000000ULL,      87000000ULL,     172000000ULL,
	};
	/* two 150 W packages (PL1): 2 x 150 W each is what they may draw */
	const uint64_t plausible_uw = 2 * 300000000ULL;
	uint64_t cpu_uj = 0;

	CHECK_EQ_INT(world_init(&w), 0);
	for (size_t i = 0; i < JPU_ARRAY_SIZE(p0); i++) {
		snprintf(text, sizeof text,
		         "package p0 energy_uj=%llu max=262143328850 limit=150000000 package=0\n"
		         "package p1 energy_uj=%llu max=262143328850 limit=150000000 package=1\n",
		         (unsigned long long)p0[i],
		         (unsigned long long)(1000000000ULL + i * 50000000));
		world_domains(&w, text);
		if (i == 0) {
			e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
			c.carbon_provider = "constant";
			c.intensity_mg_per_kwh = 100000;
			CHECK_EQ_INT(jpu_engine_set_carbon(e, &c), 0);
			CHECK_EQ_INT(jpu_engine_sample(e), 0); /* baseline */
			continue;
		}
		world_advance(1000000);
		w.busy += 50;
		w.idle += 50;
		world_stat(&w);
		CHECK_EQ_INT(jpu_engine_sample(e), 1);
		CHECK_EQ_INT(jpu_engine_summary(e, &s), 0);
		if (i == 5) {
			/* the reset interval: unknown, left out, never invented */
			CHECK(!s.has_cpu);
			j = json_of(e);
			CHECK(strstr(j, "\"cpu\":{") == NULL);
			free(j);
		} else {
			/* every other interval, the wrap (i == 3) included */
			CHECK(s.has_cpu);
			CHECK_EQ_U64(s.cpu_total_uw, 135000000);
			cpu_uj += 135000000;
		}
		CHECK(s.cpu_total_uw <= plausible_uw);
		CHECK_EQ_U64(s.energy_uj, cpu_uj);
	}
	/* 6 measured seconds at 135 W; not 262 kJ more */
	CHECK_EQ_U64(s.energy_uj, 6 * 135000000ULL);
	/* 810 J = 0.225 Wh at 100 g/kWh = 22.5 mg */
	CHECK_EQ_U64(s.co2_ug, 22500);
	jpu_engine_free(e);
	world_fini(&w);
}

/* Two disjoint trees and the idle: they add up to the machine. */
static void test_conservation(void)
{
	struct world w;
	struct world_process a = {100, 1, 0, 256, 0}, a1 = {101, 100, 0, 256, 0},
	                     b = {200, 1, 0, 512, 0};
	jpu_engine *ea, *eb, *es;
	jpu_summary sa = {.sz = sizeof sa}, sb = {.sz = sizeof sb}, ss = {.sz = sizeof ss};
	double sum;

	CHECK_EQ_INT(world_init(&w), 0);
	/* memory in use = 4096 - 2048 kB = 2 MiB = 512 pages: a tree holds
	 * 512 pages (a + a1), b 512 pages... scale so shares add up to 1 */
	w.mem_total_kb = 8192;
	w.mem_avail_kb = 8192 - 4096;
	world_stat(&w);
	world_put_process(&w, &a);
	world_put_process(&w, &a1);
	world_put_process(&w, &b);
	world_domains(&w, "package p0 energy_uj=0\ndram d0 energy_uj=0\n");
	ea = world_engine(&w, JPU_SCOPE_PROCESS, 100, JPU_IDLE_NONE, NULL);
	eb = world_engine(&w, JPU_SCOPE_PROCESS, 200, JPU_IDLE_NONE, NULL);
	es = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	jpu_engine_sample(ea);
	jpu_engine_sample(eb);
	jpu_engine_sample(es);
	world_advance(1000000);
	/* 60 busy ticks (a: 30 + 10, b: 20) and 140 idle ticks (+ 50 steal,
	 * which counts nowhere) */
	a.utime += 30;
	a1.utime += 10;
	b.utime += 20;
	w.busy += 60;
	w.idle += 140;
	w.steal += 50;
	world_put_process(&w, &a);
	world_put_process(&w, &a1);
	world_put_process(&w, &b);
	world_stat(&w);
	world_domains(&w, "package p0 energy_uj=40000000\ndram d0 energy_uj=4000000\n");
	CHECK_EQ_INT(jpu_engine_sample(ea), 1);
	CHECK_EQ_INT(jpu_engine_sample(eb), 1);
	CHECK_EQ_INT(jpu_engine_sample(es), 1);
	jpu_engine_summary(ea, &sa);
	jpu_engine_summary(eb, &sb);
	jpu_engine_summary(es, &ss);
	/* busy ratio 60/200 = 0.3: active 12 W of 40 W package, 1.2 W of 4 W
	 * DRAM; a gets 40/60 of the package's active, half the DRAM */
	CHECK_NEAR(sa.share, 40.0 / 60.0, 1e-6);
	CHECK_NEAR(sa.cpu_usage_uw, 12e6 * 40 / 60 + 1.2e6 * 0.5, 2);
	CHECK_NEAR(sb.cpu_usage_uw, 12e6 * 20 / 60 + 1.2e6 * 0.5, 2);
	CHECK_NEAR(sa.cpu_idle_uw, 28e6 + 2.8e6, 2);
	sum = (double)sa.cpu_usage_uw + (double)sb.cpu_usage_uw + (double)sa.cpu_idle_uw;
	CHECK_NEAR(sum, (double)ss.cpu_total_uw, 0.01 * (double)ss.cpu_total_uw);
	CHECK_EQ_U64(ss.cpu_total_uw, 44000000);
	jpu_engine_free(ea);
	jpu_engine_free(eb);
	jpu_engine_free(es);

	/* the original's arithmetic: the scope also takes its share of idle */
	ea = world_engine(&w, JPU_SCOPE_PROCESS, 100, JPU_IDLE_BUSY, NULL);
	jpu_engine_sample(ea);
	world_advance(1000000);
	a.utime += 30;
	w.busy += 30;
	w.idle += 70;
	world_put_process(&w, &a);
	world_stat(&w);
	world_domains(&w, "package p0 energy_uj=50000000\ndram d0 energy_uj=4000000\n");
	CHECK_EQ_INT(jpu_engine_sample(ea), 1);
	jpu_engine_summary(ea, &sa);
	/* share 1.0 of the busy time: the whole package, DRAM unchanged (0 W) */
	CHECK_NEAR(sa.cpu_usage_uw, 10e6, 2);
	jpu_engine_free(ea);
	world_fini(&w);
}

static void test_tracked_history_state(void)
{
	struct world w;
	struct world_process k = {300, 1, 0, 0, 0};
	char state[128], *j = NULL;
	jpu_engine *e;

	CHECK_EQ_INT(world_init(&w), 0);
	world_put_process(&w, &k);
	world_domains(&w, "package p0 energy_uj=0\n");
	snprintf(state, sizeof state, "%s/state", w.dir);
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, state);
	CHECK_EQ_INT(jpu_track(e, 300, "kernel-a"), 0);
	CHECK_EQ_INT(jpu_track(e, 99999, "nope"), -ESRCH);
	CHECK_EQ_INT(jpu_track(e, 300, ""), -EINVAL);
	jpu_engine_sample(e);
	for (int i = 1; i <= 6; i++) {
		world_advance(1000000);
		k.utime += 50;
		w.busy += 100;
		w.idle += 100;
		world_put_process(&w, &k);
		world_stat(&w);
		{
			char d[64];

			snprintf(d, sizeof d, "package p0 energy_uj=%d\n", i * 20000000);
			world_domains(&w, d);
		}
		CHECK_EQ_INT(jpu_engine_sample(e), 1);
	}
	/* 20 W, busy ratio 0.5, the kernel has half the busy time: 5 W */
	CHECK_EQ_INT(jpu_tracked_json(e, &j), 0);
	CHECK(j &&
	      strstr(j, "\"tag\":\"kernel-a\",\"pid\":300,\"alive\":true,\"power_w\":5.000000") !=
	              NULL);
	CHECK(j && strstr(j, "\"total\":30.000000") != NULL);
	free(j);
	/* the ring keeps the last 4 samples; `since` filters */
	CHECK_EQ_INT(jpu_engine_history_json(e, 0, &j), 0);
	CHECK(j && strstr(j, "\"energy_j\":120.000000,\"emissions_g\":0.015767,"
	                     "\"intensity_g_per_kwh\":473.010}]}") != NULL);
	{
		int n = 0;

		for (const char *p = j; p && (p = strstr(p, "\"time\"")); p++)
			n++;
		CHECK_EQ_INT(n, 4);
	}
	free(j);
	CHECK_EQ_INT(jpu_engine_history_json(e, world_real - 1, &j), 0);
	CHECK(j && strstr(j, "\"samples\":[{\"time\"") != NULL && !strstr(j, "},{"));
	free(j);
	jpu_engine_free(e);

	/* a restart carries the totals over and re-tracking picks the tag up */
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, state);
	CHECK_EQ_INT(jpu_tracked_json(e, &j), 0);
	CHECK(j && strstr(j, "\"tag\":\"kernel-a\"") && strstr(j, "\"alive\":false"));
	free(j);
	CHECK_EQ_INT(jpu_track(e, 300, "kernel-a"), 0);
	jpu_engine_sample(e);
	world_advance(1000000);
	world_domains(&w, "package p0 energy_uj=140000000\n");
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	{
		jpu_summary s = {.sz = sizeof s};

		jpu_engine_summary(e, &s);
		CHECK_EQ_U64(s.energy_uj, 120000000 + 20000000);
	}
	CHECK_EQ_INT(jpu_untrack(e, "kernel-a"), 0);
	CHECK_EQ_INT(jpu_untrack(e, "kernel-a"), -ENOENT);
	jpu_engine_free(e);

	/* a corrupt state file is never half-loaded (moved aside: test_state.c) */
	world_put(w.dir, "state", "jpu-state 1\nscope 1 2\n");
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, state);
	CHECK(e != NULL);
	jpu_engine_free(e);
	world_fini(&w);
}

static void test_bad_options(void)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_engine *e = NULL;

	o.sysfs_root = "/nonexistent-jpu";
	CHECK_EQ_INT(jpu_engine_new(&o, &e), -ENOENT);
	CHECK(e == NULL);
	o.sysfs_root = NULL;
	o.interval_usec = 5;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), -EINVAL);
	o.interval_usec = 0;
	o.scope = (enum jpu_scope)7;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), -EINVAL);
	o.scope = JPU_SCOPE_PROCESS;
	o.pid = 0x3ffffff0;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), -ESRCH);
	o.scope = JPU_SCOPE_SYSTEM;
	o.pid = 0;
	o.sensors = "rapl,bogus";
	CHECK_EQ_INT(jpu_engine_new(&o, &e), -EINVAL);
	CHECK(jpu_engine_free(NULL) == NULL);
	CHECK_EQ_INT(jpu_scope_from_string("sys"), JPU_SCOPE_SYSTEM);
	CHECK_EQ_INT(jpu_scope_from_string("bogus"), -EINVAL);
	CHECK_EQ_INT(jpu_idle_policy_from_string("even"), JPU_IDLE_EVEN);
}

/* The sampler thread on the real machine: samples arrive at the interval. */
static void test_thread(void)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_engine *e = NULL;
	int64_t seq;

	o.interval_usec = 50000;
	o.nvml_library = "";
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (!e)
		return;
	CHECK_EQ_INT(jpu_engine_start(e), 0);
	CHECK_EQ_INT(jpu_engine_start(e), 0);
	seq = jpu_engine_wait(e, 0, 2000000);
	CHECK(seq >= 1);
	CHECK(jpu_engine_wait(e, seq, 2000000) > seq);
	CHECK_EQ_INT(jpu_engine_stop(e), 0);
	CHECK_EQ_INT(jpu_engine_wait(e, seq + 100, 100000), -ETIMEDOUT);
	jpu_engine_free(e);
}

/* Emissions integrate each sample's energy with the intensity valid then:
 * conservation over a run whose intensity changes midway. */
static void test_emissions(void)
{
	struct world w;
	jpu_engine_opts c = {.sz = sizeof c};
	jpu_summary s = {.sz = sizeof s};
	jpu_engine *e;
	char d[64], *j = NULL;

	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, "package p0 energy_uj=0\n");
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	c.carbon_provider = "constant";
	c.intensity_mg_per_kwh = 100000;
	CHECK_EQ_INT(jpu_engine_set_carbon(e, &c), 0);
	jpu_engine_sample(e);
	for (int i = 1; i <= 4; i++) {
		if (i == 3) {
			/* 400 g/kWh and a PUE of 1.5 from the third sample on */
			c.intensity_mg_per_kwh = 400000;
			c.pue_milli = 1500;
			CHECK_EQ_INT(jpu_engine_set_carbon(e, &c), 0);
		}
		world_advance(1000000);
		snprintf(d, sizeof d, "package p0 energy_uj=%d\n", i * 36000000);
		world_domains(&w, d);
		CHECK_EQ_INT(jpu_engine_sample(e), 1);
	}
	jpu_engine_summary(e, &s);
	/* 36 J = 0.01 Wh: 2 x 0.01 Wh x 100 g/kWh + 2 x 0.01 Wh x 400 x 1.5 */
	CHECK(s.has_emissions);
	CHECK_NEAR(s.co2_ug, 2 * 1000 + 2 * 6000, 0.01 * 14000);
	CHECK_EQ_U64(s.co2_ug, 14000);
	CHECK_STR(s.carbon_source, "constant");
	CHECK_EQ_INT(jpu_engine_json(e, &j), 0);
	CHECK(j && strstr(j, "\"emissions\":{\"g\":0.014000,\"intensity_g_per_kwh\":400.000,"
	                     "\"source\":\"constant\"") != NULL);
	CHECK(j && strstr(j, "\"pue\":1.500}") != NULL);
	free(j);
	/* bad settings are refused, naming the setting, and change nothing */
	c.pue_milli = 500;
	CHECK_EQ_INT(jpu_engine_set_carbon(e, &c), -EINVAL);
	c.pue_milli = 0;
	c.carbon_provider = "wattime";
	CHECK_EQ_INT(jpu_engine_set_carbon(e, &c), -EINVAL);
	c.carbon_provider = "table";
	c.country = "France";
	CHECK_EQ_INT(jpu_engine_set_carbon(e, &c), -EINVAL);
	jpu_engine_free(e);
	world_fini(&w);
}

/* Idle policy "even": idle split among the users whose cgroup used CPU. */
static void test_idle_even(void)
{
	struct world w;
	struct world_process a = {100, 1, 0, 0, 0};
	jpu_engine *e;
	jpu_summary s = {.sz = sizeof s};

	CHECK_EQ_INT(world_init(&w), 0);
	world_put_process(&w, &a);
	world_domains(&w, "package p0 energy_uj=0\n");
	world_put(w.sys, "fs/cgroup/user.slice/user-1000.slice/cpu.stat", "usage_usec 100\n");
	world_put(w.sys, "fs/cgroup/user.slice/user-1001.slice/cpu.stat", "usage_usec 100\n");
	world_put(w.sys, "fs/cgroup/user.slice/user-1002.slice/cpu.stat", "usage_usec 100\n");
	e = world_engine(&w, JPU_SCOPE_PROCESS, 100, JPU_IDLE_EVEN, NULL);
	jpu_engine_sample(e);
	world_advance(1000000);
	a.utime += 50;
	w.busy += 100;
	w.idle += 100;
	world_put_process(&w, &a);
	world_stat(&w);
	/* two of the three users ran this interval */
	world_put(w.sys, "fs/cgroup/user.slice/user-1000.slice/cpu.stat", "usage_usec 9000\n");
	world_put(w.sys, "fs/cgroup/user.slice/user-1001.slice/cpu.stat", "usage_usec 5000\n");
	world_domains(&w, "package p0 energy_uj=20000000\n");
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	jpu_engine_summary(e, &s);
	/* 20 W: active 10 W x share 0.5 = 5 W, idle 10 W / 2 users = 5 W */
	CHECK_NEAR(s.cpu_usage_uw, 10e6, 2);
	CHECK_NEAR(s.cpu_idle_uw, 5e6, 2);
	jpu_engine_free(e);
	world_fini(&w);
}

/* Tags and messages are escaped for JSON and for Prometheus label values. */
static void test_escaping(void)
{
	struct world w;
	struct world_process k = {300, 1, 0, 0, 0};
	jpu_engine *e;
	char *j = NULL, *p = NULL;

	CHECK_EQ_INT(world_init(&w), 0);
	world_put_process(&w, &k);
	world_domains(&w, "package p0 energy_uj=0\n");
	e = world_engine(&w, JPU_SCOPE_SYSTEM, 0, JPU_IDLE_NONE, NULL);
	CHECK_EQ_INT(jpu_track(e, 300, "nb \"a\\b\"\n\x01"), 0);
	CHECK_EQ_INT(jpu_tracked_json(e, &j), 0);
	CHECK(j && strstr(j, "\"tag\":\"nb \\\"a\\\\b\\\"\\u000a\\u0001\"") != NULL);
	jpu_engine_sample(e);
	world_advance(1000000);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_engine_prometheus(e, &p), 0);
	CHECK(p && strstr(p, "{tag=\"nb \\\"a\\\\b\\\"\\n\x01\",part=\"cpu\"}") != NULL);
	free(j);
	free(p);
	jpu_engine_free(e);
	world_fini(&w);
}

/* Diagnostics through the accessor, as the JSON array has them. */
static void test_diagnostic_accessor(void)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_diagnostic d = {.sz = sizeof d}, small = {.sz = sizeof small - 1};
	struct world w;
	jpu_engine *e = NULL;
	char *j = NULL;
	int n;

	CHECK_EQ_INT(world_init(&w), 0);
	world_domains(&w, "package p0 energy_uj=0\n");
	o.sysfs_root = w.sys;
	o.procfs_root = w.proc;
	o.sensors = "rapl,fake"; /* no class/powercap in the tree: rapl absent */
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (!e) {
		world_fini(&w);
		return;
	}
	n = jpu_engine_diagnostic(e, 0, &d);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT((int)d.sz, (int)sizeof d);
	CHECK_STR(d.sensor, "rapl");
	CHECK_STR(d.reason, "absent");
	CHECK(strncmp(d.message, "rapl: ", 6) == 0);
	/* the same entry as the JSON array */
	CHECK_EQ_INT(jpu_engine_diagnostics_json(e, &j), 0);
	CHECK(j && strstr(j, "{\"sensor\":\"rapl\",\"reason\":\"absent\",\"message\":\"rapl: ") ==
	                   j + 1);
	CHECK_EQ_INT(jpu_engine_diagnostic(e, 1, &d), -ENOENT);
	CHECK_EQ_INT(jpu_engine_diagnostic(e, 0, &small), -EINVAL);
	CHECK_EQ_INT(jpu_engine_diagnostic(e, 0, NULL), -EINVAL);
	CHECK_EQ_INT(jpu_engine_diagnostic(NULL, 0, &d), -EINVAL);
	free(j);
	jpu_engine_free(e);
	world_fini(&w);
}

int main(void)
{
	test_diagnostic_accessor();
	test_escaping();
	test_idle_even();
	test_emissions();
	test_system_psys_dram();
	test_wrap_and_reset();
	test_reset_is_not_a_wrap();
	test_conservation();
	test_tracked_history_state();
	test_bad_options();
	test_thread();
	return check_summary();
}
