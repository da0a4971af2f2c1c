/* SPDX-License-Identifier: BSD-3-Clause */
/* The RAPL powercap backend against fixture trees and throw-away copies. */
#include "check.h"
#include "sensor_util.h"

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

static void test_mirrored_dies(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d0, *d1;
	char *copy = copy_fixture("amd-mirrored-dies");
	int fd = copy ? open_dir(copy) : -1;

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
	/* both advance together: still one counter */
	write_file(copy, ZONE0 "/energy_uj", "4568890123\n");
	write_file(copy, ZONE1 "/energy_uj", "4568890123\n");
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(d1->duplicate && d0->energy_uj == 4568890123ULL);
	/* they differ (and still do when re-read): separate, both count */
	write_file(copy, ZONE1 "/energy_uj", "4568990123\n");
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(!d1->duplicate && !d0->duplicate);
	/* once separate, always separate */
	write_file(copy, ZONE1 "/energy_uj", "4568890123\n");
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(!d1->duplicate);
out:
	close_sensor(&s);
	close(fd);
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
		if (diag.reason != JPU_REASON_PERMISSION ||
		    !strstr(diag.message, "CVE-2020-8694") || !strstr(diag.message, "udev") ||
		    !strstr(diag.message, "jpud"))
			return 12;
		return 0;
	}
	return r == a->expect_n ? 0 : 13;
}

static void test_permission(void)
{
	char *copy = copy_fixture("intel-2s-dram");
	char cmd[1400];
	struct unpriv_arg a = {copy, 0};
	int r;

	CHECK(copy != NULL);
	if (!copy)
		return;
	CHECK_EQ_INT(open_up_dirs(copy), 0);
	/* the kernel's mode since CVE-2020-8694: root-only */
	snprintf(cmd, sizeof cmd, "find '%s' -name energy_uj -exec chmod 0400 {} +", copy);
	CHECK_EQ_INT(system(cmd), 0);
	r = run_unprivileged(unpriv_probe, &a);
	if (r < 0) {
		printf("SKIP permission: cannot drop to uid 65534 here\n");
	} else {
		CHECK_EQ_INT(r, 0);
		/* one package made readable (as a udev rule would): the rest
		 * is skipped, the readable zone is used */
		snprintf(cmd, sizeof cmd, "chmod 0444 '%s/%s/energy_uj'", copy, ZONE1);
		CHECK_EQ_INT(system(cmd), 0);
		a.expect_n = 1;
		CHECK_EQ_INT(run_unprivileged(unpriv_probe, &a), 0);
	}
	remove_copy(copy);
}

int main(void)
{
	test_intel_2s_dram();
	test_intel_laptop();
	test_amd_epyc();
	test_mirrored_dies();
	test_multidie();
	test_vm_empty();
	test_bad_values();
	test_missing();
	test_permission();
	return check_summary();
}
