/* SPDX-License-Identifier: BSD-3-Clause */
/* The data-driven fake backend: its line parser, and probe/read with the
 * file rewritten between samples. */
#include "check.h"
#include "sensor_util.h"

static int parse(const char *line, struct jpu_fake_line *l)
{
	return jpu_fake_parse_line(line, strlen(line), l);
}

static void test_parse_line(void)
{
	struct jpu_fake_line l;
	static const char *const bad[] = {
	        "package",                                   /* no name */
	        "package p0",                                /* neither energy nor power */
	        "cpu p0 energy_uj=1",                        /* unknown kind */
	        "package p0 energy_uj=-1",                   /* sign */
	        "package p0 energy_uj=",                     /* empty */
	        "package p0 energy_uj=1x",                   /* junk */
	        "package p0 energy_uj= 1",                   /* space after = makes two words */
	        "package p0 energy_uj=18446744073709551616", /* overflow */
	        "package p0 energy_uj=1 volts=3",            /* unknown key */
	        "package p0 energy_uj=1 broken",             /* unknown flag */
	        "package p0 energy_uj=1 package=99999",      /* index out of range */
	        "package p\x01 energy_uj=1",                 /* control character */
	        /* a 64-character name: one too long */
	        ("package a234567890123456789012345678901234567890123456789012345678901234"
	         " energy_uj=1"),
	};

	CHECK_EQ_INT(parse("", &l), 0);
	CHECK_EQ_INT(parse("   \t", &l), 0);
	CHECK_EQ_INT(parse("# comment energy_uj=x", &l), 0);
	CHECK_EQ_INT(parse("package package-0 energy_uj=1000 max=262143328850 limit=125000000 "
	                   "package=0 die=1",
	                   &l),
	             1);
	CHECK_EQ_INT(l.kind, JPU_DOM_PACKAGE);
	CHECK_STR(l.name, "package-0");
	CHECK(l.has_energy && !l.has_power && l.has_limit);
	CHECK_EQ_U64(l.energy_uj, 1000);
	CHECK_EQ_U64(l.max_energy_uj, 262143328850ULL);
	CHECK_EQ_U64(l.limit_uw, 125000000);
	CHECK_EQ_INT(l.package, 0);
	CHECK_EQ_INT(l.die, 1);
	CHECK_EQ_INT(l.error, JPU_FAKE_OK);
	CHECK_EQ_INT(parse("\tgpu  gpu0\tpower_uw=75000000 permission", &l), 1);
	CHECK(l.kind == JPU_DOM_GPU && l.has_power && l.error == JPU_FAKE_PERMISSION);
	CHECK_EQ_INT(l.package, -1);
	CHECK_EQ_INT(parse("other x energy_uj=0 error", &l), 1);
	CHECK(l.kind == JPU_DOM_OTHER && l.error == JPU_FAKE_ERROR);
	for (size_t i = 0; i < JPU_ARRAY_SIZE(bad); i++) {
		int r = parse(bad[i], &l);

		if (r != -EINVAL)
			fprintf(stderr, "line \"%s\" gave %d\n", bad[i], r);
		CHECK_EQ_INT(r, -EINVAL);
	}
}

static void test_basic(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	int fd = fixture_sys("fake-basic");

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_fake, fd, &s, &diag), 5);
	d = find_domain(&s, "fake:package-1");
	CHECK(d && d->kind == JPU_DOM_PACKAGE && d->package == 1 && d->valid);
	CHECK(d && d->energy_uj == 2000000 && d->max_energy_uj == 262143328850ULL);
	CHECK(d && d->has_limit && d->limit_uw == 125000000);
	d = find_domain(&s, "fake:gpu0");
	CHECK(d && d->kind == JPU_DOM_GPU && d->has_power && !d->has_energy);
	CHECK(d && d->power_uw == 75000000);
	d = find_domain(&s, "fake:psys");
	CHECK(d && d->kind == JPU_DOM_PSYS && !d->has_limit);
	/* the sensor keeps its own root: closing the caller's is fine */
	close(fd);
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(d && d->valid);
	close_sensor(&s);
}

static void test_rewrite(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *p0, *p1, *g;
	char *copy = copy_fixture("fake-basic");
	int fd = copy ? open_dir(copy) : -1;

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_fake, fd, &s, &diag), 5);
	p0 = find_domain(&s, "fake:package-0");
	p1 = find_domain(&s, "fake:package-1");
	g = find_domain(&s, "fake:gpu0");
	CHECK(p0 && p1 && g);
	if (!p0 || !p1 || !g)
		goto out;
	/* new values; order changed; dram gone; a new line is ignored */
	CHECK_EQ_INT(write_file(copy, "fake/domains",
	                        "gpu gpu0 power_uw=80000000\n"
	                        "package package-1 energy_uj=3000000 permission\n"
	                        "package package-0 energy_uj=1500000\n"
	                        "psys psys energy_uj=6000000 error\n"
	                        "other newcomer energy_uj=1\n"),
	             0);
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(p0->valid && p0->energy_uj == 1500000);
	CHECK(!p1->valid);
	CHECK(g->valid && g->power_uw == 80000000);
	CHECK(!find_domain(&s, "fake:dram-0")->valid);
	CHECK(!find_domain(&s, "fake:psys")->valid);
	CHECK(find_domain(&s, "fake:newcomer") == NULL);
	/* a line that lost the quantity it had at probe */
	CHECK_EQ_INT(write_file(copy, "fake/domains", "package package-0 power_uw=5\n"), 0);
	CHECK_EQ_INT(s.ops->read(&s, NULL), -EIO);
	CHECK(!p0->valid);
	/* garbage: nothing read */
	CHECK_EQ_INT(write_file(copy, "fake/domains", "package package-0 energy_uj=zz\n"), 0);
	CHECK_EQ_INT(s.ops->read(&s, NULL), -EINVAL);
	CHECK(!p0->valid && !g->valid);
	CHECK_EQ_INT(remove_file(copy, "fake/domains"), 0);
	CHECK_EQ_INT(s.ops->read(&s, NULL), -ENOENT);
	CHECK_EQ_INT(write_file(copy, "fake/domains", "package package-0 energy_uj=7\n"), 0);
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(p0->valid && p0->energy_uj == 7);
out:
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

static void test_probe_errors(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	char *copy = copy_fixture("fake-basic");
	int fd = copy ? open_dir(copy) : -1;
	int vm = fixture_sys("vm-empty");

	CHECK_EQ_INT(write_file(copy, "fake/domains",
	                        "package package-0 energy_uj=1\n"
	                        "dram dram energy_uj=1 permission\n"),
	             0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_fake, fd, &s, &diag), -EACCES);
	CHECK_EQ_INT(diag.reason, JPU_REASON_PERMISSION);
	CHECK(strstr(diag.message, "dram") != NULL);
	CHECK_EQ_U64(s.n_domains, 0);
	close_sensor(&s);

	CHECK_EQ_INT(write_file(copy, "fake/domains",
	                        "# header\n\npackage a energy_uj=1\npackage a energy_uj=2\n"),
	             0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_fake, fd, &s, &diag), -EINVAL);
	CHECK(strstr(diag.message, "line 4") && strstr(diag.message, "duplicate"));
	close_sensor(&s);

	CHECK_EQ_INT(write_file(copy, "fake/domains", "package a energy_uj=1\nwatts 3\n"), 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_fake, fd, &s, &diag), -EINVAL);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ERROR);
	CHECK(strstr(diag.message, "line 2") != NULL);
	close_sensor(&s);

	CHECK_EQ_INT(write_file(copy, "fake/domains", "# nothing\n"), 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_fake, fd, &s, &diag), -ENOENT);
	close_sensor(&s);

	/* error at probe: listed, but invalid */
	CHECK_EQ_INT(write_file(copy, "fake/domains",
	                        "package a energy_uj=1 error\npackage b energy_uj=2\n"),
	             0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_fake, fd, &s, &diag), 2);
	CHECK(!find_domain(&s, "fake:a")->valid && find_domain(&s, "fake:b")->valid);
	close_sensor(&s);

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_fake, vm, &s, &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	close_sensor(&s);
	close(vm);
	close(fd);
	remove_copy(copy);
}

int main(void)
{
	test_parse_line();
	test_basic();
	test_rewrite();
	test_probe_errors();
	return check_summary();
}
