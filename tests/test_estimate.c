/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/sensors/estimate.c: the cpuinfo/meminfo parsers, the model choice
 * and the power at 0, 10, 50 and 100 % utilisation, against the fixture
 * trees tests/fixtures/estimate-* and throw-away trees.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

#define GIB (1024ULL * 1024 * 1024)

static int open_root(const char *scenario)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/%s/proc", getenv("JPU_FIXTURES"), scenario);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

static int probe_fd(struct jpu_sensor *s, int procfs_fd, unsigned ncpu, uint64_t mem,
                    struct jpu_diag *diag)
{
	struct jpu_probe_opts o = {
	        .sysfs_fd = -1, .procfs_fd = procfs_fd, .ncpu = ncpu, .mem_bytes = mem};

	memset(s, 0, sizeof *s);
	memset(diag, 0, sizeof *diag);
	s->ops = &jpu_sensor_estimate;
	return jpu_sensor_estimate.probe(s, &o, diag);
}

/* CPU power (µW) at a utilisation given in percent; -1 = first read. */
static uint64_t cpu_at(struct jpu_sensor *s, int pct)
{
	struct jpu_host_cpu h = {
	        .busy_ticks = (uint64_t)(pct < 0 ? 0 : pct) * 10, .all_ticks = 1000, .ncpu = 2};
	struct jpu_sense_ctx ctx = {.interval_usec = 1000000,
	                            .host_delta = pct < 0 ? NULL : &h,
	                            .mem_used_bytes = 8 * GIB,
	                            .mem_total_bytes = 16 * GIB};

	s->domains[0].valid = false;
	CHECK_EQ_INT(jpu_sensor_estimate.read(s, &ctx), 0);
	CHECK(s->domains[0].valid);
	return s->domains[0].power_uw;
}

static void test_xeon_vm(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	int fd = open_root("estimate-xeon-vm");

	CHECK_EQ_INT(probe_fd(&s, fd, 0, 0, &diag), 2);
	close(fd); /* the sensor keeps its own */
	CHECK_STR(s.domains[0].name, "estimated-cpu");
	CHECK_EQ_INT(s.domains[0].kind, JPU_DOM_PACKAGE);
	CHECK(s.domains[0].has_power && !s.domains[0].has_energy);
	CHECK_STR(s.domains[1].name, "estimated-dram");
	CHECK_EQ_INT(s.domains[1].kind, JPU_DOM_DRAM);
	/* Platinum 8259CL: Cascade Lake, 0.64-3.97 W per vCPU */
	CHECK_STR(jpu_estimate_basis(&s), "per-vCPU cascade_lake 0.64-3.97 W x 2 vCPU");
	CHECK_EQ_U64(cpu_at(&s, -1), 2 * 640000);
	CHECK_EQ_U64(cpu_at(&s, 0), 2 * 640000);
	CHECK_EQ_U64(cpu_at(&s, 50), 2 * (640000 + 3330000 / 2));
	CHECK_EQ_U64(cpu_at(&s, 100), 2 * 3970000);
	/* DRAM: 8 GiB in use x 0.392 W/GiB */
	CHECK(s.domains[1].valid);
	CHECK_EQ_U64(s.domains[1].power_uw, 8 * 392000);
	/* a zero-length interval keeps the last utilisation */
	{
		struct jpu_host_cpu h = {0};
		struct jpu_sense_ctx ctx = {
		        .host_delta = &h, .mem_total_bytes = 1, .mem_used_bytes = 0};

		CHECK_EQ_INT(jpu_sensor_estimate.read(&s, &ctx), 0);
		CHECK_EQ_U64(s.domains[0].power_uw, 2 * 3970000);
		CHECK_EQ_U64(s.domains[1].power_uw, 0);
		CHECK(s.domains[1].valid);
	}
	/* no memory figures from the engine: meminfo of the root, 1 GiB used */
	{
		struct jpu_sense_ctx ctx = {0};

		CHECK_EQ_INT(jpu_sensor_estimate.read(&s, &ctx), 0);
		CHECK(s.domains[1].valid);
		CHECK_EQ_U64(s.domains[1].power_uw, 392000);
	}
	jpu_sensor_estimate.close(&s);
	CHECK(s.priv == NULL && s.domains == NULL);
	CHECK(jpu_estimate_basis(&s) == NULL);

	/* overrides: 8 vCPUs, memory capped at 512 MiB */
	fd = open_root("estimate-xeon-vm");
	CHECK_EQ_INT(probe_fd(&s, fd, 8, GIB / 2, &diag), 2);
	close(fd);
	CHECK_STR(jpu_estimate_basis(&s), "per-vCPU cascade_lake 0.64-3.97 W x 8 vCPU");
	CHECK_EQ_U64(cpu_at(&s, 100), 8 * 3970000);
	CHECK_EQ_U64(s.domains[1].power_uw, 196000);
	jpu_sensor_estimate.close(&s);
}

static void test_epyc_metal(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	int fd = open_root("estimate-epyc-metal");

	CHECK_EQ_INT(probe_fd(&s, fd, 0, 0, &diag), 2);
	close(fd);
	/* 280 W TDP, two sockets, Teads curve 0.12/0.32/0.75/1.02 */
	CHECK_STR(jpu_estimate_basis(&s), "TDP 280 W (AMD EPYC 7763) x 2 sockets");
	CHECK_EQ_U64(cpu_at(&s, -1), 2 * 33600000);
	CHECK_EQ_U64(cpu_at(&s, 0), 2 * 33600000);
	CHECK_EQ_U64(cpu_at(&s, 10), 2 * 89600000);
	CHECK_EQ_U64(cpu_at(&s, 30), 2 * 149800000); /* 0.32 + (0.75-0.32)/2 */
	CHECK_EQ_U64(cpu_at(&s, 50), 2 * 210000000);
	CHECK_EQ_U64(cpu_at(&s, 100), 2 * 285600000);
	jpu_sensor_estimate.close(&s);
}

static void test_unknown_model(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	int fd = open_root("estimate-unknown");

	/* "Intel(R) Xeon(R) Processor" in a VM: the average coefficients */
	CHECK_EQ_INT(probe_fd(&s, fd, 0, 0, &diag), 2);
	close(fd);
	CHECK_STR(jpu_estimate_basis(&s), "per-vCPU average 0.74-3.5 W x 2 vCPU");
	CHECK_EQ_U64(cpu_at(&s, 0), 2 * 740000);
	CHECK_EQ_U64(cpu_at(&s, 50), 2 * (740000 + 2760000 / 2));
	CHECK_EQ_U64(cpu_at(&s, 100), 2 * 3500000);
	jpu_sensor_estimate.close(&s);
}

/* A throw-away procfs root holding the given cpuinfo/meminfo (NULL = none). */
static int make_root(char *dir, const char *cpuinfo, size_t cpuinfo_len, const char *meminfo)
{
	char path[256];
	FILE *f;

	strcpy(dir, "/tmp/jpu-test-estimate-XXXXXX");
	if (!mkdtemp(dir))
		exit(2);
	if (cpuinfo) {
		snprintf(path, sizeof path, "%s/cpuinfo", dir);
		f = fopen(path, "w");
		fwrite(cpuinfo, 1, cpuinfo_len, f);
		fclose(f);
	}
	if (meminfo) {
		snprintf(path, sizeof path, "%s/meminfo", dir);
		f = fopen(path, "w");
		fputs(meminfo, f);
		fclose(f);
	}
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void drop_root(const char *dir, int fd)
{
	char path[256];

	close(fd);
	snprintf(path, sizeof path, "%s/cpuinfo", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/meminfo", dir);
	unlink(path);
	rmdir(dir);
}

static void test_bad_input(void)
{
	static const char garbage[] = "this is not\ncpuinfo at all\n";
	static const char binary[] = "processor\t: 0\n\0\x01\x02";
	static const char bad_meminfo[] = "MemTotal: lots\nMemAvailable: -1 kB\n";
	struct jpu_sensor s;
	struct jpu_diag diag;
	char dir[64];
	int fd;

	fd = make_root(dir, garbage, sizeof garbage - 1, NULL);
	CHECK_EQ_INT(probe_fd(&s, fd, 0, 0, &diag), -EINVAL);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ERROR);
	CHECK(strstr(diag.message, "cpuinfo") != NULL);
	CHECK(s.priv == NULL && s.domains == NULL);
	jpu_sensor_estimate.close(&s); /* harmless after a failed probe */
	/* with the vCPU count given, estimate anyway (average) */
	CHECK_EQ_INT(probe_fd(&s, fd, 4, 0, &diag), 2);
	CHECK_STR(jpu_estimate_basis(&s), "per-vCPU average 0.74-3.5 W x 4 vCPU");
	jpu_sensor_estimate.close(&s);
	drop_root(dir, fd);

	fd = make_root(dir, binary, sizeof binary - 1, NULL);
	CHECK_EQ_INT(probe_fd(&s, fd, 0, 0, &diag), -EINVAL);
	drop_root(dir, fd);

	/* no cpuinfo at all */
	fd = make_root(dir, NULL, 0, bad_meminfo);
	CHECK_EQ_INT(probe_fd(&s, fd, 0, 0, &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	CHECK_EQ_INT(probe_fd(&s, fd, 2, 0, &diag), 2);
	/* garbage meminfo and no figures from the engine: DRAM unknown,
	 * not zero */
	{
		struct jpu_sense_ctx ctx = {0};

		s.domains[1].valid = true;
		CHECK_EQ_INT(jpu_sensor_estimate.read(&s, &ctx), 0);
		CHECK(s.domains[0].valid);
		CHECK(!s.domains[1].valid);
	}
	jpu_sensor_estimate.close(&s);
	drop_root(dir, fd);
}

static void test_parsers(void)
{
	static const char arm[] =
	        "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd\n"
	        "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\n"
	        "CPU part\t: 0xd0c\nCPU revision\t: 1\n\n"
	        "processor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n";
	static const char bad_id[] = "processor\t: 0\nphysical id\t: -1\n";
	static const char meminfo[] = "MemTotal:       16318372 kB\nMemFree:  1 kB\n"
	                              "MemAvailable:    8159186 kB\n";
	struct jpu_cpuinfo ci;
	uint64_t total = 0, avail = 0;

	CHECK_EQ_INT(jpu_parse_cpuinfo(arm, sizeof arm - 1, &ci), 0);
	CHECK_EQ_INT(ci.nproc, 2);
	CHECK_EQ_INT(ci.arm_part, 0xd0c);
	CHECK_STR(ci.model, "");
	CHECK_STR(jpu_estimate_guess_arch(&ci), "aws_graviton_2");
	CHECK_EQ_INT(jpu_parse_cpuinfo(bad_id, sizeof bad_id - 1, &ci), -EINVAL);
	CHECK_EQ_INT(jpu_parse_cpuinfo("", 0, &ci), -EINVAL);
	CHECK_EQ_INT(jpu_parse_cpuinfo("flags : hypervisor\n", 19, &ci), -EINVAL);

	CHECK_EQ_INT(jpu_estimate_parse_meminfo(meminfo, sizeof meminfo - 1, &total, &avail), 0);
	CHECK_EQ_U64(total, 16318372ULL * 1024);
	CHECK_EQ_U64(avail, 8159186ULL * 1024);
	CHECK_EQ_INT(jpu_estimate_parse_meminfo("MemTotal: 5 kB\n", 15, &total, &avail), -EINVAL);
	CHECK_EQ_INT(jpu_estimate_parse_meminfo("MemTotal: 5 kB\nMemAvailable: 6 kB\n", 35, &total,
	                                        &avail),
	             -EINVAL); /* available > total */
}

static const char *arch_of(const char *model)
{
	static struct jpu_cpuinfo ci;

	memset(&ci, 0, sizeof ci);
	snprintf(ci.model, sizeof ci.model, "%s", model);
	return jpu_estimate_guess_arch(&ci);
}

static void test_models(void)
{
	static const struct {
		const char *cpuinfo, *table;
	} names[] = {
	        {"Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "Intel Xeon E5-2686 v4"},
	        {"Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz", "Intel Core i7-8550U"},
	        {"11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", "Intel Core i7-1165G7"},
	        {"AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763"},
	        {"AMD Ryzen 7 5800X 8-Core Processor", "AMD Ryzen 7 5800X"},
	        {"AMD Ryzen 7 PRO 4750U with Radeon Graphics", "AMD Ryzen 7 PRO 4750U"},
	        {"  Intel(R)   Xeon(R) Gold 6130 CPU @ 2.10GHz  ", "Intel Xeon Gold 6130"},
	};
	char out[160];
	size_t i;

	for (i = 0; i < JPU_ARRAY_SIZE(names); i++) {
		jpu_estimate_tdp_name(names[i].cpuinfo, out, sizeof out);
		CHECK_STR(out, names[i].table);
	}
	/* a tiny buffer truncates at a word, never overflows */
	jpu_estimate_tdp_name("AMD EPYC 7763 64-Core Processor", out, 9);
	CHECK_STR(out, "AMD EPYC");

	/* binary search needs the order gen_tables.py promises */
	for (i = 1; i < jpu_tdp_table_len; i++)
		if (strcasecmp(jpu_tdp_table[i - 1].name, jpu_tdp_table[i].name) > 0)
			break;
	CHECK_EQ_U64(i, jpu_tdp_table_len);
	CHECK(jpu_tdp_table_len > 4000);
	CHECK(jpu_estimate_find_tdp("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz") != NULL);
	CHECK_EQ_U64(jpu_estimate_find_tdp("AMD EPYC 7763 64-Core Processor")->tdp_mw, 280000);
	CHECK_EQ_U64(jpu_estimate_find_tdp("intel core i7-8550u")->tdp_mw, 15000);
	CHECK(jpu_estimate_find_tdp("Intel(R) Xeon(R) Processor") == NULL);
	CHECK(jpu_estimate_find_tdp("") == NULL);
	/* first and last rows are found too */
	CHECK(jpu_estimate_find_tdp(jpu_tdp_table[0].name) == &jpu_tdp_table[0]);
	CHECK(jpu_estimate_find_tdp(jpu_tdp_table[jpu_tdp_table_len - 1].name) ==
	      &jpu_tdp_table[jpu_tdp_table_len - 1]);

	CHECK_STR(arch_of("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"), "cascade_lake");
	CHECK_STR(arch_of("Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz"), "cascade_lake");
	CHECK_STR(arch_of("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz"), "skylake");
	CHECK_STR(arch_of("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz"), "skylake");
	CHECK_STR(arch_of("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"), "average");
	CHECK_STR(arch_of("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz"), "broadwell");
	CHECK_STR(arch_of("Intel(R) Xeon(R) CPU E5-2666 v3 @ 2.90GHz"), "haswell");
	CHECK_STR(arch_of("Intel(R) Xeon(R) CPU E5-2670 v2 @ 2.50GHz"), "ivy_bridge");
	CHECK_STR(arch_of("Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz"), "sandy_bridge");
	CHECK_STR(arch_of("AMD EPYC 7571"), "amd_epyc_1st_gen");
	CHECK_STR(arch_of("AMD EPYC 7R32"), "amd_epyc_2nd_gen");
	CHECK_STR(arch_of("AMD EPYC 7B12"), "amd_epyc_2nd_gen");
	CHECK_STR(arch_of("AMD EPYC 7R13 Processor"), "average");
	CHECK_STR(arch_of("AMD EPYC Processor"), "average");
	CHECK_STR(arch_of("Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz"), "coffee_lake");
	CHECK_STR(arch_of("Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz"), "haswell");
	CHECK_STR(arch_of("Intel(R) Core(TM) i7-10510U CPU @ 1.80GHz"), "average");
	CHECK_STR(arch_of(""), "average");
	/* found by fuzz_cpuinfo: a model ending right after "i5-1" */
	CHECK_STR(arch_of("Intel Core i5-1"), "average");
	CHECK_STR(arch_of("Intel Core i5-"), "average");
	CHECK_STR(arch_of("AMD EPYC 7"), "average");
	CHECK_STR(arch_of("Intel Xeon Gold "), "average");
}

int main(void)
{
	if (!getenv("JPU_FIXTURES")) {
		fprintf(stderr, "JPU_FIXTURES unset\n");
		return 2;
	}
	test_parsers();
	test_models();
	test_xeon_vm();
	test_epyc_metal();
	test_unknown_model();
	test_bad_input();
	return check_summary();
}
