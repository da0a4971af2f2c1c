/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GPUs through the engine's public API: how a GPU's power is attributed
 * to a user or process scope and to tracked trees (per-process samples,
 * none because the GPU is idle, none because the driver cannot tell), and
 * that every GPU is counted once whatever backend measures it. NVML is the
 * stub built by tests/meson.build (tests/stub_nvml.c), driven by a control
 * file; the CPU is the fake backend on a synthetic /proc (world.h).
 */
#include <errno.h>

#include "check.h"
#include "engine.h"
#include "world.h"

static char ctl_path[PATH_MAX], lib_full[PATH_MAX], lib_min[PATH_MAX];
static const char *fixtures;

/* two idle H100s drawing 120 W each; NVML has no sample for them */
static const char two_idle[] = "count=2\n"
                               "gpu.0.name=NVIDIA H100\ngpu.0.power_mw=120000\n"
                               "gpu.0.energy=not_supported\n"
                               "gpu.1.name=NVIDIA H100\ngpu.1.power_mw=120000\n"
                               "gpu.1.energy=not_supported\n";

static void write_ctl(const char *text)
{
	FILE *f = fopen(ctl_path, "we");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static jpu_engine *engine(struct world *w, enum jpu_scope scope, pid_t pid,
                          enum jpu_idle_policy policy, const char *lib)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_engine *e = NULL;

	o.sysfs_root = w->sys;
	o.procfs_root = w->proc;
	o.sensors = "fake,nvml";
	o.nvml_library = lib;
	o.scope = scope;
	o.pid = pid;
	o.uid = 0;
	o.idle_policy = policy;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (e)
		jpu_engine_set_clocks(e, world_clock_mono, world_clock_real);
	return e;
}

/* One second in which process 100 uses 50 of the 100 busy ticks (of 200)
 * and the package draws 10 W. */
static void one_second(struct world *w, uint64_t *utime, uint64_t *pkg_uj)
{
	char d[96];

	world_advance(1000000);
	*utime += 50;
	*pkg_uj += 10000000;
	w->busy += 100;
	w->idle += 100;
	world_stat(w);
	world_proc(w, 100, 1, *utime);
	snprintf(d, sizeof d, "package p0 energy_uj=%llu\n", (unsigned long long)*pkg_uj);
	world_put(w->sys, "fake/domains", d);
}

/* the JSON object "gpu":{...} of the latest sample, or "" */
static void gpu_json(jpu_engine *e, char *out, size_t size)
{
	char *j = NULL, *g;

	out[0] = '\0';
	if (jpu_engine_json(e, &j) < 0)
		return;
	g = strstr(j, "\"gpu\":{");
	if (g)
		snprintf(out, size, "%s", g);
	free(j);
}

struct gpu_case {
	enum jpu_scope scope;
	enum jpu_idle_policy policy;
	const char *lib;
	const char *ctl_after_baseline; /* NULL: two_idle throughout */
};

/* Run one case: baseline, one second, the summary and the gpu JSON. */
static void run_case(const struct gpu_case *c, jpu_summary *s, char *gj, size_t gjsize,
                     char **tracked)
{
	struct world w;
	uint64_t utime = 0, pkg = 0;
	jpu_engine *e;

	if (world_init(&w) < 0)
		return;
	world_proc(&w, 100, 1, 0);
	world_proc(&w, 200, 1, 0);
	world_put(w.sys, "fake/domains", "package p0 energy_uj=0\n");
	write_ctl(two_idle);
	e = engine(&w, c->scope, 100, c->policy, c->lib);
	if (!e) {
		world_fini(&w);
		return;
	}
	if (tracked)
		CHECK_EQ_INT(jpu_track(e, 100, "kernel"), 0);
	CHECK_EQ_INT(jpu_engine_sample(e), 0);
	if (c->ctl_after_baseline)
		write_ctl(c->ctl_after_baseline);
	one_second(&w, &utime, &pkg);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	s->sz = sizeof *s;
	CHECK_EQ_INT(jpu_engine_summary(e, s), 0);
	gpu_json(e, gj, gjsize);
	if (tracked)
		CHECK_EQ_INT(jpu_tracked_json(e, tracked), 0);
	jpu_engine_free(e);
	world_fini(&w);
}

/* NVML answers NOT_FOUND (no sample: nothing ran on the GPUs): a user or
 * process scope gets ~0 W of GPU, the 240 W are idle, reported apart. */
static void test_idle_gpus_not_charged(void)
{
	static const enum jpu_scope scopes[] = {JPU_SCOPE_USER, JPU_SCOPE_PROCESS};
	char gj[2048], *tracked = NULL;
	jpu_summary s;

	for (size_t i = 0; i < JPU_ARRAY_SIZE(scopes); i++) {
		struct gpu_case c = {scopes[i], JPU_IDLE_NONE, lib_full, NULL};

		memset(&s, 0, sizeof s);
		run_case(&c, &s, gj, sizeof gj, i == 1 ? &tracked : NULL);
		CHECK(s.has_gpu);
		CHECK_EQ_U64(s.gpu_total_uw, 240000000);
		CHECK(s.gpu_usage_uw < 1000); /* ~0 W, not the 240 W of the devices */
		CHECK(strstr(gj, "\"idle\":240.000000") != NULL);
		CHECK(strstr(gj, "\"attribution\":\"per_process\"") != NULL);
		CHECK(strstr(gj, "whole_device") == NULL);
		/* the energy counted for the scope has no GPU part either */
		CHECK(s.gpu_energy_uj < 1000);
	}
	/* a tracked tree follows the same rule: 10 W x 0.5 busy x 0.5 share */
	CHECK(tracked && strstr(tracked, "\"power_w\":2.500000") != NULL);
	free(tracked);

	/* the system scope is the whole machine, idle GPUs included */
	{
		struct gpu_case c = {JPU_SCOPE_SYSTEM, JPU_IDLE_NONE, lib_full, NULL};

		run_case(&c, &s, gj, sizeof gj, NULL);
		CHECK_EQ_U64(s.gpu_usage_uw, 240000000);
		CHECK(strstr(gj, "\"idle\":0.000000") != NULL);
	}
}

/* Idle GPU power is shared only under an idle policy, as for the CPU:
 * "busy" by the scope's share of busy CPU time (here 0.5). */
static void test_idle_gpus_policy_busy(void)
{
	struct gpu_case c = {JPU_SCOPE_PROCESS, JPU_IDLE_BUSY, lib_full, NULL};
	char gj[2048];
	jpu_summary s;

	run_case(&c, &s, gj, sizeof gj, NULL);
	CHECK_EQ_U64(s.gpu_usage_uw, 120000000);
	CHECK(strstr(gj, "\"idle\":120.000000") != NULL);
}

/* With samples, a device's power goes to its processes by SM utilisation;
 * a device none of them used stays idle. */
static void test_per_process_samples(void)
{
	char ctl[1024], gj[2048];
	jpu_summary s;
	struct gpu_case c = {JPU_SCOPE_PROCESS, JPU_IDLE_NONE, lib_full, ctl};

	/* timestamps after the probe's (real clock) start: 2100-01-01 */
	snprintf(ctl, sizeof ctl,
	         "%sgpu.0.util=100,40,4102444800000000\n"
	         "gpu.0.util=200,40,4102444800000001\n",
	         two_idle);
	run_case(&c, &s, gj, sizeof gj, NULL);
	CHECK_EQ_U64(s.gpu_total_uw, 240000000);
	CHECK_EQ_U64(s.gpu_usage_uw, 60000000); /* half of GPU 0, none of GPU 1 */
	CHECK(strstr(gj, "\"idle\":120.000000") != NULL);
}

/* A driver that cannot report per-process figures at all: the whole
 * device, and the sample says so. Both ways: the call answers
 * NOT_SUPPORTED, or the driver lacks the symbol (stub-min). */
static void test_whole_device_only_without_figures(void)
{
	char ctl[1024], gj[2048];
	jpu_summary s;

	snprintf(ctl, sizeof ctl, "%sgpu.0.util=not_supported\ngpu.1.util=not_supported\n",
	         two_idle);
	{
		struct gpu_case c = {JPU_SCOPE_USER, JPU_IDLE_NONE, lib_full, ctl};

		run_case(&c, &s, gj, sizeof gj, NULL);
		CHECK_EQ_U64(s.gpu_usage_uw, 240000000);
		CHECK(strstr(gj, "\"attribution\":\"whole_device\"") != NULL);
		CHECK(strstr(gj, "\"idle\":0.000000") != NULL);
	}
	{
		struct gpu_case c = {JPU_SCOPE_PROCESS, JPU_IDLE_NONE, lib_min, NULL};

		run_case(&c, &s, gj, sizeof gj, NULL);
		CHECK_EQ_U64(s.gpu_usage_uw, 240000000);
		CHECK(strstr(gj, "\"attribution\":\"whole_device\"") != NULL);
	}
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* An amdgpu hwmon (the hwmon-amdgpu fixture: 35 W) beside two NVIDIA GPUs
 * (100 W, 150 W): every GPU once, none shadowing another. */
static void test_vendors_side_by_side(void)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_summary s = {.sz = sizeof s};
	char sys[PATH_MAX], proc[PATH_MAX], gj[4096];
	jpu_engine *e = NULL;

	write_ctl("count=2\n"
	          "gpu.0.name=NVIDIA A100\ngpu.0.power_mw=100000\ngpu.0.energy=not_supported\n"
	          "gpu.1.name=NVIDIA A100\ngpu.1.power_mw=150000\ngpu.1.energy=not_supported\n");
	snprintf(sys, sizeof sys, "%s/hwmon-amdgpu/sys", fixtures);
	snprintf(proc, sizeof proc, "%s/hwmon-amdgpu/proc", fixtures);
	o.sysfs_root = sys;
	o.procfs_root = proc;
	o.nvml_library = lib_full;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (!e)
		return;
	jpu_engine_set_clocks(e, world_clock_mono, world_clock_real);
	CHECK_EQ_INT(jpu_engine_sample(e), 0);
	world_advance(1000000);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_engine_summary(e, &s), 0);
	CHECK_EQ_U64(s.gpu_total_uw, 35000000 + 100000000 + 150000000);
	gpu_json(e, gj, sizeof gj);
	CHECK_EQ_INT(count(gj, "\"name\":\"amdgpu/PPT\",\"source\":\"hwmon\""), 1);
	CHECK_EQ_INT(count(gj, "\"name\":\"GPU 0: NVIDIA A100\",\"source\":\"nvml\""), 1);
	CHECK_EQ_INT(count(gj, "\"name\":\"GPU 1: NVIDIA A100\",\"source\":\"nvml\""), 1);
	CHECK_EQ_INT(count(gj, "\"name\":"), 3);
	jpu_engine_free(e);
}

/* An APU's amdgpu hwmon (it has the vddnb voltage only APUs expose) reads
 * the whole SoC, CPU cores included: psys, never a GPU beside the CPU. */
static void test_apu_is_the_soc(void)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_summary s = {.sz = sizeof s};
	struct world w;
	jpu_engine *e = NULL;

	if (world_init(&w) < 0)
		return;
	world_put(w.sys, "class/hwmon/hwmon0/name", "amdgpu\n");
	world_put(w.sys, "class/hwmon/hwmon0/power1_average", "15000000\n");
	world_put(w.sys, "class/hwmon/hwmon0/power1_label", "PPT\n");
	world_put(w.sys, "class/hwmon/hwmon0/in1_input", "900\n");
	world_put(w.sys, "class/hwmon/hwmon0/in1_label", "vddnb\n");
	o.sysfs_root = w.sys;
	o.procfs_root = w.proc;
	o.sensors = "hwmon";
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (e) {
		jpu_engine_set_clocks(e, world_clock_mono, world_clock_real);
		jpu_engine_sample(e);
		world_advance(1000000);
		CHECK_EQ_INT(jpu_engine_sample(e), 1);
		CHECK_EQ_INT(jpu_engine_summary(e, &s), 0);
		CHECK(!s.has_gpu);
		CHECK(!s.has_cpu);
		CHECK(s.has_psys);
		CHECK_EQ_U64(s.psys_uw, 15000000);
		jpu_engine_free(e);
	}
	world_fini(&w);
}

int main(void)
{
	const char *build = getenv("JPU_BUILD_DIR");
	char tmpl[] = "/tmp/jpu-test-gpu-XXXXXX";

	fixtures = getenv("JPU_FIXTURES");
	if (!build || !fixtures || !mkdtemp(tmpl)) {
		fprintf(stderr, "JPU_BUILD_DIR or JPU_FIXTURES unset, or no temporary folder\n");
		return 2;
	}
	snprintf(ctl_path, sizeof ctl_path, "%s/control", tmpl);
	snprintf(lib_full, sizeof lib_full, "%s/libnvidia-ml.so.1", build);
	snprintf(lib_min, sizeof lib_min, "%s/stub-min/libnvidia-ml.so.1", build);
	setenv("JPU_STUB_NVML", ctl_path, 1);

	test_idle_gpus_not_charged();
	test_idle_gpus_policy_busy();
	test_per_process_samples();
	test_whole_device_only_without_figures();
	test_vendors_side_by_side();
	test_apu_is_the_soc();

	unlink(ctl_path);
	rmdir(tmpl);
	return check_summary();
}
