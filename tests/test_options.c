/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The estimate's options through the public API: `ncpu` (a container's
 * vCPU quota) and `mem_bytes` (a container's memory limit) reach the
 * estimate and change its figures. The machine is the estimate-xeon-vm
 * fixture's cpuinfo (2 vCPUs, Cascade Lake, under a hypervisor) on a
 * synthetic /proc (world.h) with 2 MiB of memory in use.
 */
#include <errno.h>
#include <stdbool.h>

#include "check.h"
#include "jpu/jpu.h"
#include "world.h"

static const char *fixtures;

/* Copy the fixture's cpuinfo into the world's /proc. */
static int put_cpuinfo(struct world *w)
{
	char path[PATH_MAX], buf[16384];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/estimate-xeon-vm/proc/cpuinfo", fixtures);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || (size_t)n == sizeof buf - 1)
		return -EIO;
	buf[n] = '\0';
	world_put(w->proc, "cpuinfo", buf);
	return 0;
}

/* One sample of the estimate with the given overrides: JSON and summary. */
static void estimate(struct world *w, unsigned ncpu, uint64_t mem_bytes, char **ret_json,
                     jpu_summary *s)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_engine *e = NULL;

	o.sysfs_root = w->sys;
	o.procfs_root = w->proc;
	o.sensors = "estimate";
	o.ncpu = ncpu;
	o.mem_bytes = mem_bytes;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (!e)
		return;
	jpu_engine_sample(e);
	/* the real clock: the estimate is a power, the interval's length
	 * does not change it */
	usleep(20000);
	w->busy += 100;
	w->idle += 100;
	world_stat(w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_engine_json(e, ret_json), 0);
	s->sz = sizeof *s;
	CHECK_EQ_INT(jpu_engine_summary(e, s), 0);
	jpu_engine_free(e);
}

static void test_ncpu(void)
{
	struct world w;
	jpu_summary two = {0}, four = {0};
	char *j2 = NULL, *j4 = NULL;

	if (world_init(&w) < 0 || put_cpuinfo(&w) < 0) {
		CHECK(!"no world");
		return;
	}
	estimate(&w, 0, 0, &j2, &two);
	estimate(&w, 4, 0, &j4, &four);
	/* the fixture's 2 vCPUs, then the 4 asked for */
	CHECK(j2 && strstr(j2, "x 2 vCPU\"") != NULL);
	CHECK(j4 && strstr(j4, "\"basis\":\"per-vCPU cascade_lake 0.64-3.97 W x 4 vCPU\"") != NULL);
	/* the per-vCPU model scales with the count: twice the power at the
	 * same utilisation (DRAM unchanged) */
	CHECK(two.dram_total_uw == four.dram_total_uw);
	CHECK_EQ_U64(four.cpu_total_uw - four.dram_total_uw,
	             2 * (two.cpu_total_uw - two.dram_total_uw));
	free(j2);
	free(j4);
	world_fini(&w);
}

static void test_mem_bytes(void)
{
	struct world w;
	jpu_summary all = {0}, capped = {0};
	char *j = NULL;

	if (world_init(&w) < 0 || put_cpuinfo(&w) < 0) {
		CHECK(!"no world");
		return;
	}
	estimate(&w, 0, 0, &j, &all);
	free(j);
	j = NULL;
	/* 2 MiB in use, the limit is 1 MiB: half the DRAM estimate */
	estimate(&w, 0, 1 << 20, &j, &capped);
	free(j);
	CHECK(all.has_dram && capped.has_dram);
	CHECK(all.dram_total_uw > 0);
	CHECK(capped.dram_total_uw * 2 >= all.dram_total_uw - 1 &&
	      capped.dram_total_uw * 2 <= all.dram_total_uw + 1);
	world_fini(&w);
}

/* Every W figure of a sample printed to the resolution asked for: the
 * estimate's figures have micro-watt digits, coarsened they end in 000. */
static bool all_coarse(const char *json, const char *key)
{
	const char *p = json;
	size_t kl = strlen(key);
	unsigned seen = 0;

	while ((p = strstr(p, key))) {
		const char *dot;

		p += kl;
		dot = strchr(p, '.');
		if (!dot || strncmp(dot + 4, "000", 3) != 0)
			return false;
		seen++;
	}
	return seen > 0;
}

static void test_resolution(void)
{
	jpu_engine_opts o = {.sz = sizeof o};
	struct world w;
	jpu_engine *e = NULL;
	char *exact = NULL, *coarse = NULL, *prom = NULL;

	if (world_init(&w) < 0 || put_cpuinfo(&w) < 0) {
		CHECK(!"no world");
		return;
	}
	o.sysfs_root = w.sys;
	o.procfs_root = w.proc;
	o.sensors = "estimate";
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (!e)
		return;
	jpu_engine_sample(e);
	usleep(20000);
	w.busy += 137;
	w.idle += 51;
	world_stat(&w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_engine_json(e, &exact), 0);
	jpu_engine_free(e);
	e = NULL;

	o.resolution_micro = 1000;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (!e)
		return;
	jpu_engine_sample(e);
	usleep(20000);
	w.busy += 137;
	w.idle += 51;
	world_stat(&w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_engine_json(e, &coarse), 0);
	CHECK_EQ_INT(jpu_engine_prometheus(e, &prom), 0);
	jpu_engine_free(e);
	/* exact figures carry micro digits; coarse ones stop at the milli */
	CHECK(exact && !all_coarse(exact, "\"total\":"));
	CHECK(coarse && all_coarse(coarse, "\"total\":") && all_coarse(coarse, "\"usage\":"));
	CHECK(prom && all_coarse(prom, "jpu_cpu_power_watts{scope=\"system\",kind=\"total\"} "));
	free(exact);
	free(coarse);
	free(prom);
	world_fini(&w);
}

int main(void)
{
	fixtures = getenv("JPU_FIXTURES");
	if (!fixtures) {
		fprintf(stderr, "JPU_FIXTURES unset\n");
		return 2;
	}
	test_ncpu();
	test_mem_bytes();
	test_resolution();
	return check_summary();
}
