/* SPDX-License-Identifier: BSD-3-Clause */
/* The RAPL powercap backend against fixture trees and throw-away copies. */
#include <sys/stat.h>

#include "check.h"
#include "sensor_util.h"
#include "engine.h"

#define PKG_MAX  262143328850ULL
#define DRAM_MAX 65532610987ULL
#define AMD_MAX  65532610987ULL

#define ZONE0 "devices/virtual/powercap/intel-rapl/intel-rapl:0"
#define ZONE1 "devices/virtual/powercap/intel-rapl/intel-rapl:1"

static void test_intel_2s_dram(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	int fd = fixture_sys("intel-2s-dram");

	CHECK(fd >= 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 6);
	d = find_domain(&s, "intel-rapl:0");
	CHECK(d != NULL);
	if (d) {
		CHECK_STR(d->name, "package-0");
		CHECK_EQ_INT(d->kind, JPU_DOM_PACKAGE);
		CHECK_EQ_INT(d->package, 0);
		CHECK_EQ_INT(d->die, -1);
		CHECK(d->has_energy && !d->has_power);
		CHECK_EQ_U64(d->max_energy_uj, PKG_MAX);
		CHECK(d->has_limit);
		CHECK_EQ_U64(d->limit_uw, 150000000); /* long_term, not short_term */
		CHECK(d->valid);
		CHECK_EQ_U64(d->energy_uj, 81234567890ULL);
		CHECK(!d->duplicate);
		CHECK(d->fd >= 0);
		CHECK((fcntl(d->fd, F_GETFD) & FD_CLOEXEC) != 0);
	}
	d = find_domain(&s, "intel-rapl:1:1");
	CHECK(d != NULL);
	if (d) {
		CHECK_STR(d->name, "dram");
		CHECK_EQ_INT(d->kind, JPU_DOM_DRAM);
		CHECK_EQ_INT(d->package, 1); /* from the parent zone */
		CHECK_EQ_U64(d->max_energy_uj, DRAM_MAX);
		CHECK(!d->has_limit); /* enabled = 0 */
		CHECK_EQ_U64(d->energy_uj, 23456789012ULL);
	}
	d = find_domain(&s, "intel-rapl:1:0");
	CHECK(d && d->kind == JPU_DOM_CORE && d->package == 1 && !d->duplicate);
	for (size_t i = 0; i < s.n_domains; i++)
		CHECK(!s.domains[i].duplicate);
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	d = find_domain(&s, "intel-rapl:1");
	CHECK(d && d->valid && d->energy_uj == 90876543210ULL);
	close_sensor(&s);
	close(fd);
}

static void test_intel_laptop(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	int fd = fixture_sys("intel-laptop");

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 6);
	d = find_domain(&s, "intel-rapl-mmio:0");
	CHECK(d && d->kind == JPU_DOM_PACKAGE && d->package == 0 && d->duplicate);
	d = find_domain(&s, "intel-rapl:0");
	CHECK(d && !d->duplicate && d->has_limit && d->limit_uw == 28000000);
	d = find_domain(&s, "intel-rapl:1");
	CHECK(d && d->kind == JPU_DOM_PSYS && d->package == -1 && !d->has_limit);
	d = find_domain(&s, "intel-rapl:0:1");
	CHECK(d && d->kind == JPU_DOM_UNCORE && d->package == 0);
	d = find_domain(&s, "intel-rapl:0:2");
	CHECK(d && d->kind == JPU_DOM_DRAM && d->max_energy_uj == PKG_MAX);
	close_sensor(&s);
	close(fd);
}

static void test_amd_epyc(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	int fd = fixture_sys("amd-epyc");

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 4);
	d = find_domain(&s, "intel-rapl:1");
	CHECK(d && d->kind == JPU_DOM_PACKAGE && d->package == 1);
	CHECK(d && d->max_energy_uj == AMD_MAX && !d->has_limit && !d->duplicate);
	d = find_domain(&s, "intel-rapl:1:0");
	CHECK(d && d->kind == JPU_DOM_CORE && d->package == 1);
	for (size_t i = 0; i < s.n_domains; i++)
		CHECK(!s.domains[i].has_limit);
	close_sensor(&s);
	close(fd);
}

/* Write both die counters of a copy: die 0 at v0, die 1 at v1. */
static void put_dies(const char *copy, uint64_t v0, uint64_t v1)
{
	char b0[32], b1[32];

	snprintf(b0, sizeof b0, "%llu\n", (unsigned long long)v0);
	snprintf(b1, sizeof b1, "%llu\n", (unsigned long long)v1);
	write_file(copy, ZONE0 "/energy_uj", b0);
	write_file(copy, ZONE1 "/energy_uj", b1);
}

/* The skew of a read that lands after the next ~1 ms update: die 1 ahead
 * or behind die 0 by up to 0.3 J (300 W x 1 ms), changing every tick. */
static int64_t skew_of(int tick)
{
	static const int64_t skew[] = {300000, -150000, 0, 220000, -300000, 90000, 280000};

	return skew[tick % 7];
}

static void test_mirrored_dies(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d0, *d1;
	char *copy = copy_fixture("amd-mirrored-dies");
	int fd = copy ? open_dir(copy) : -1;
	uint64_t v = 4567890123ULL;

	CHECK(fd >= 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 2);
	d0 = find_domain(&s, "intel-rapl:0");
	d1 = find_domain(&s, "intel-rapl:1");
	CHECK(d0 && d1);
	if (!d0 || !d1)
		goto out;
	CHECK(d0->package == 0 && d0->die == 0 && d1->package == 0 && d1->die == 1);
	CHECK(!d0->duplicate);
	CHECK(d1->duplicate);
	/* 20 s of reads straddling counter updates: one counter throughout */
	for (int t = 0; t < 20; t++) {
		v += 100000000; /* 100 J a tick */
		put_dies(copy, v, (uint64_t)((int64_t)v + skew_of(t)));
		CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
		CHECK(d1->duplicate && !d0->duplicate);
	}
	/* a pair that then truly draws apart (die 1 gains 20 J more a tick):
	 * still one counter for 4 reads, two from the 5th */
	for (int t = 1; t <= 6; t++) {
		v += 100000000;
		put_dies(copy, v, v + (uint64_t)t * 20000000);
		CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
		CHECK_EQ_INT(d1->duplicate, t < 5);
	}
	/* once two, one close read does not make them one again */
	put_dies(copy, v, v);
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(!d1->duplicate);
out:
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

/* Mirrored dies as the kernels that made them show the topology: each die
 * has CPUs (die_id 0 and 1), so only the counters tell; the probe read of
 * die 1 lands after an update die 0's read missed. */
static void test_mirrored_dies_straddle(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d1;
	char *copy = copy_fixture("amd-mirrored-dies");
	int fd = copy ? open_dir(copy) : -1;
	uint64_t v = 4567890123ULL;

	CHECK(fd >= 0);
	write_file(copy, "devices/system/cpu/cpu2/topology/die_id", "1\n");
	write_file(copy, "devices/system/cpu/cpu3/topology/die_id", "1\n");
	put_dies(copy, v, v + 250000);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 2);
	d1 = find_domain(&s, "intel-rapl:1");
	CHECK(d1 && d1->duplicate);
	for (int t = 0; d1 && t < 20; t++) {
		v += 50000000;
		put_dies(copy, v, (uint64_t)((int64_t)v + skew_of(t)));
		CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
		CHECK(d1->duplicate);
	}
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

/* Die 1 unreadable at probe: the first read that has both decides, as
 * the probe would have. */
static void test_mirrored_dies_late(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d1;
	char *copy = copy_fixture("amd-mirrored-dies");
	int fd = copy ? open_dir(copy) : -1;
	uint64_t v = 4567890123ULL;

	CHECK(fd >= 0);
	write_file(copy, "devices/system/cpu/cpu2/topology/die_id", "1\n");
	write_file(copy, "devices/system/cpu/cpu3/topology/die_id", "1\n");
	write_file(copy, ZONE1 "/energy_uj", "x\n");
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 2);
	d1 = find_domain(&s, "intel-rapl:1");
	CHECK(d1 && !d1->valid && !d1->duplicate);
	put_dies(copy, v, v + 120000);
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(d1 && d1->valid && d1->duplicate);
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

/* Add a dram subzone "intel-rapl:Z:0" under zone Z of a copy. */
static void add_dram(const char *copy, int z, const char *energy)
{
	char rel[200], target[300];

	snprintf(rel, sizeof rel,
	         "devices/virtual/powercap/intel-rapl/intel-rapl:%d/intel-rapl:%d:0", z, z);
	{
		char path[1400];

		snprintf(path, sizeof path, "%s/%s", copy, rel);
		mkdir(path, 0755);
	}
	snprintf(target, sizeof target, "%s/name", rel);
	write_file(copy, target, "dram\n");
	snprintf(target, sizeof target, "%s/energy_uj", rel);
	write_file(copy, target, energy);
	snprintf(target, sizeof target, "%s/max_energy_range_uj", rel);
	write_file(copy, target, "65532610987\n");
	snprintf(target, sizeof target, "class/powercap/intel-rapl:%d:0", z);
	snprintf(rel, sizeof rel,
	         "../../devices/virtual/powercap/intel-rapl/intel-rapl:%d/intel-rapl:%d:0", z, z);
	make_link(copy, target, rel);
}

/* The dram of a mirrored die is the primary's dram again: it follows the
 * die, both ways. */
static void test_mirrored_die_subzones(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d1, *m0, *m1;
	char *copy = copy_fixture("amd-mirrored-dies");
	int fd = copy ? open_dir(copy) : -1;
	uint64_t v = 4567890123ULL;

	CHECK(fd >= 0);
	add_dram(copy, 0, "1000000\n");
	add_dram(copy, 1, "1000000\n");
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 4);
	d1 = find_domain(&s, "intel-rapl:1");
	m0 = find_domain(&s, "intel-rapl:0:0");
	m1 = find_domain(&s, "intel-rapl:1:0");
	CHECK(d1 && m0 && m1);
	if (!d1 || !m0 || !m1)
		goto out;
	CHECK(d1->duplicate && m1->duplicate && !m0->duplicate);
	CHECK(m1->kind == JPU_DOM_DRAM && m1->package == 0 && m1->die == 1);
	for (int t = 1; t <= 5; t++) {
		v += 100000000;
		put_dies(copy, v, v + (uint64_t)t * 30000000);
		CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	}
	CHECK(!d1->duplicate && !m1->duplicate && !m0->duplicate);
out:
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

static uint64_t fake_mono = 1000000, fake_real = 1795600000000000ULL;

static uint64_t clock_mono(void)
{
	return fake_mono;
}

static uint64_t clock_real(void)
{
	return fake_real;
}

/* The engine over mirrored dies whose reads straddle updates for 20 s:
 * the CPU is the one package counter, never twice it. */
static void test_mirrored_dies_engine(void)
{
	char *copy = copy_fixture("amd-mirrored-dies");
	char proc[1200];
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_summary sum = {.sz = sizeof sum};
	jpu_engine *e = NULL;
	uint64_t v = 4567890123ULL;

	CHECK(copy != NULL);
	if (!copy)
		return;
	snprintf(proc, sizeof proc, "%s/proc-basic/proc", fixtures());
	o.sysfs_root = copy;
	o.procfs_root = proc;
	o.sensors = "rapl";
	o.scope = JPU_SCOPE_SYSTEM;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (!e)
		goto out;
	jpu_engine_set_clocks(e, clock_mono, clock_real);
	CHECK_EQ_INT(jpu_engine_sample(e), 0);
	for (int t = 0; t < 20; t++) {
		fake_mono += 1000000;
		fake_real += 1000000;
		v += 80000000; /* 80 W */
		put_dies(copy, v, (uint64_t)((int64_t)v + skew_of(t)));
		CHECK_EQ_INT(jpu_engine_sample(e), 1);
		CHECK_EQ_INT(jpu_engine_summary(e, &sum), 0);
		CHECK(sum.has_cpu);
		/* 80 W, give or take the skew of this tick and the last */
		CHECK(sum.cpu_total_uw >= 79000000 && sum.cpu_total_uw <= 81000000);
	}
	CHECK(sum.energy_uj >= 1599000000 && sum.energy_uj <= 1601000000);
out:
	jpu_engine_free(e);
	remove_copy(copy);
}

static void test_multidie(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	int fd = fixture_sys("intel-multidie");

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 4);
	for (size_t i = 0; i < s.n_domains; i++)
		CHECK(!s.domains[i].duplicate);
	d = find_domain(&s, "intel-rapl:1");
	CHECK(d && d->package == 0 && d->die == 1 && d->limit_uw == 200000000);
	d = find_domain(&s, "intel-rapl:1:0");
	CHECK(d && d->kind == JPU_DOM_DRAM && d->package == 0 && d->die == 1);
	close_sensor(&s);
	close(fd);
}

/* Separate dies (Cascade Lake-AP): reads that meet once, or for a few
 * seconds as two counters pass each other, do not make them one; only a
 * long run of reads together while the counter advances does. */
static void test_multidie_evidence(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d1;
	char *copy = copy_fixture("intel-multidie");
	int fd = copy ? open_dir(copy) : -1;
	uint64_t v = 60000000000ULL;
	int t;

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 4);
	d1 = find_domain(&s, "intel-rapl:1");
	CHECK(d1 && !d1->duplicate);
	if (!d1)
		goto out;
	/* die 1 catches up with die 0 and passes it: 10 reads within a joule */
	for (t = 0; t < 10; t++) {
		v += 100000000;
		put_dies(copy, v, v - 5000000 + (uint64_t)t * 1000000);
		CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
		CHECK(!d1->duplicate);
	}
	/* and on: apart again */
	v += 100000000;
	put_dies(copy, v, v + 30000000);
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(!d1->duplicate);
	/* together for 30 reads while 3 kJ went by: one counter */
	for (t = 1; t <= 30; t++) {
		v += 100000000;
		put_dies(copy, v, (uint64_t)((int64_t)v + skew_of(t)));
		CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
		CHECK_EQ_INT(d1->duplicate, t >= 30);
	}
out:
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

static void test_vm_empty(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	int fd = fixture_sys("vm-empty");

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	CHECK(strstr(diag.message, "powercap") != NULL);
	CHECK_EQ_U64(s.n_domains, 0);
	close_sensor(&s);
	close(fd);
}

/* wrap, backwards, garbage values: each domain fails on its own */
static void test_bad_values(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *p0, *p1;
	char *copy = copy_fixture("intel-2s-dram");
	int fd = copy ? open_dir(copy) : -1;
	static const char *const garbage[] = {
	        "",
	        "\n",
	        "12ab\n",
	        "-5\n",
	        " \n",
	        "1 2\n",
	        "0x10\n",
	        "18446744073709551616\n",                    /* overflow */
	        "123456789012345678901234567890123456789\n", /* fills the buffer */
	};

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 6);
	p0 = find_domain(&s, "intel-rapl:0");
	p1 = find_domain(&s, "intel-rapl:1");
	CHECK(p0 && p1);
	if (!p0 || !p1)
		goto out;
	/* near the top of the range, then wrapped */
	write_file(copy, ZONE0 "/energy_uj", "262143000000\n");
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(p0->valid && p0->energy_uj == 262143000000ULL);
	write_file(copy, ZONE0 "/energy_uj", "1000\n");
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(p0->valid && p0->energy_uj == 1000);
	/* beyond the documented range: garbage, not energy */
	write_file(copy, ZONE0 "/energy_uj", "262143328851\n");
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(!p0->valid && p1->valid);
	for (size_t i = 0; i < JPU_ARRAY_SIZE(garbage); i++) {
		write_file(copy, ZONE0 "/energy_uj", garbage[i]);
		CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
		if (p0->valid)
			fprintf(stderr, "garbage %zu read as valid\n", i);
		CHECK(!p0->valid);
		CHECK(p1->valid);
	}
	/* it comes back */
	write_file(copy, ZONE0 "/energy_uj", "2000\n");
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(p0->valid && p0->energy_uj == 2000);
	/* every counter broken: the read as a whole fails */
	{
		char cmd[1400];

		snprintf(cmd, sizeof cmd,
		         "find '%s' -name energy_uj -exec sh -c 'echo x > \"$1\"' _ {} \\;", copy);
		CHECK_EQ_INT(system(cmd), 0);
	}
	CHECK_EQ_INT(s.ops->read(&s, NULL), -EIO);
	for (size_t i = 0; i < s.n_domains; i++)
		CHECK(!s.domains[i].valid);
out:
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

/* zones that vanish, lack energy_uj, a name or a range */
static void test_missing(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	char *copy = copy_fixture("intel-2s-dram");
	int fd = copy ? open_dir(copy) : -1;

	/* listed by readdir, gone by the time it is opened */
	CHECK_EQ_INT(make_link(copy, "class/powercap/intel-rapl:2",
	                       "../../devices/virtual/powercap/intel-rapl/intel-rapl:2"),
	             0);
	CHECK_EQ_INT(remove_file(copy, ZONE1 "/energy_uj"), 0);
	CHECK_EQ_INT(remove_file(copy, ZONE0 "/intel-rapl:0:0/name"), 0);
	CHECK_EQ_INT(remove_file(copy, ZONE0 "/intel-rapl:0:1/max_energy_range_uj"), 0);
	CHECK_EQ_INT(write_file(copy, ZONE0 "/constraint_0_power_limit_uw", "lots\n"), 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_rapl, fd, &s, &diag), 4);
	CHECK(find_domain(&s, "intel-rapl:2") == NULL);
	CHECK(find_domain(&s, "intel-rapl:1") == NULL);
	CHECK(find_domain(&s, "intel-rapl:0:0") == NULL);
	/* the subzone of a skipped package takes the package from the
	 * parent zone's name */
	d = find_domain(&s, "intel-rapl:1:1");
	CHECK(d && d->kind == JPU_DOM_DRAM && d->package == 1);
	d = find_domain(&s, "intel-rapl:0:1");
	CHECK(d && d->max_energy_uj == 0 && d->valid);
	d = find_domain(&s, "intel-rapl:0");
	CHECK(d && !d->has_limit);
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

/* The probe as nobody, in a child: its exit code says what happened. */
struct unpriv_arg {
	const char *sys;
	int expect_n;
};

static int unpriv_probe(void *arg)
{
	const struct unpriv_arg *a = arg;
	struct jpu_sensor s;
	struct jpu_diag diag;
	int fd = open_dir(a->sys), r;

	if (fd < 0)
		return 10;
	r = probe_sensor(&jpu_sensor_rapl, fd, &s, &diag);
	close_sensor(&s);
	if (a->expect_n == 0) {
		if (r != -EACCES)
			return 11;
		/* the one recipe: the shipped rule, its group, the doc section */
		if (diag.reason != JPU_REASON_PERMISSION ||
		    !strstr(diag.message, "CVE-2020-8694") ||
		    !strstr(diag.message, "udev rule 90-jpu-powercap.rules") ||
		    !strstr(diag.message, "group powercap") ||
		    !strstr(diag.message, "PERMISSIONS in jpu(1)") || !strstr(diag.message, "jpud"))
			return 12;
		return 0;
	}
	return r == a->expect_n ? 0 : 13;
}

/* meson: rapl_permission; SKIP where the test cannot drop to uid 65534 */
static int test_permission(void)
{
	char *copy;
	char cmd[1400];
	struct unpriv_arg a = {NULL, 0};
	int r;

	if (geteuid() != 0)
		return check_skip("permission: not root, cannot drop to uid 65534");
	copy = copy_fixture("intel-2s-dram");
	a.sys = copy;
	CHECK(copy != NULL);
	if (!copy)
		return 0;
	CHECK_EQ_INT(open_up_dirs(copy), 0);
	/* the kernel's mode since CVE-2020-8694: root-only */
	snprintf(cmd, sizeof cmd, "find '%s' -name energy_uj -exec chmod 0400 {} +", copy);
	CHECK_EQ_INT(system(cmd), 0);
	r = run_unprivileged(unpriv_probe, &a);
	if (r < 0) {
		remove_copy(copy);
		return check_skip("permission: cannot drop to uid 65534 here");
	}
	CHECK_EQ_INT(r, 0);
	/* one package made readable (as a udev rule would): the rest is
	 * skipped, the readable zone is used */
	snprintf(cmd, sizeof cmd, "chmod 0444 '%s/%s/energy_uj'", copy, ZONE1);
	CHECK_EQ_INT(system(cmd), 0);
	a.expect_n = 1;
	CHECK_EQ_INT(run_unprivileged(unpriv_probe, &a), 0);
	remove_copy(copy);
	return 0;
}

int main(int argc, char **argv)
{
	/* the permission part is a test of its own (meson: rapl_permission) */
	if (argc > 1)
		return strcmp(argv[1], "--permission") == 0 ? check_part_end(test_permission())
		                                            : check_bad_part(argv[1]);
	test_intel_2s_dram();
	test_intel_laptop();
	test_amd_epyc();
	test_mirrored_dies();
	test_mirrored_dies_straddle();
	test_mirrored_die_subzones();
	test_mirrored_dies_late();
	test_mirrored_dies_engine();
	test_multidie();
	test_multidie_evidence();
	test_vm_empty();
	test_bad_values();
	test_missing();
	return check_summary();
}
