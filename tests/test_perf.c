/* SPDX-License-Identifier: BSD-3-Clause */
/* The perf power PMU backend: strict parsers, and probe/read with the
 * system calls injected (this VM has no RAPL behind perf). */
#include <locale.h>

#include "check.h"
#include "sensor_util.h"
#include "engine.h"

static void test_parse_scale(void)
{
	double v = 7;
	static const char *const bad[] = {
	        "",       "\n",      "abc",    "-1",     "0",         "0.0", "inf",
	        "nan",    "0x1p-32", " 1e-10", "1e-10 ", "1e-10\n\n", "1,5", "+1e-10",
	        "1e-10x", ".5",      "2",      "1e-400", "1e400",
	};

	CHECK_EQ_INT(jpu_perf_parse_scale("2.3283064365386962890625e-10\n", 29, &v), 0);
	CHECK(v == 0x1p-32);
	CHECK_EQ_INT(jpu_perf_parse_scale("6.103515625e-5", 14, &v), 0);
	CHECK(v == 6.103515625e-5);
	CHECK_EQ_INT(jpu_perf_parse_scale("1", 1, &v), 0);
	CHECK(v == 1.0);
	for (size_t i = 0; i < JPU_ARRAY_SIZE(bad); i++) {
		v = 7;
		int r = jpu_perf_parse_scale(bad[i], strlen(bad[i]), &v);

		if (r == 0)
			fprintf(stderr, "scale \"%s\" accepted\n", bad[i]);
		CHECK(r == -EINVAL || r == -ERANGE);
		CHECK(v == 7); /* written only on success */
	}
	CHECK_EQ_INT(jpu_perf_parse_scale("2", 1, &v), -ERANGE);
	CHECK_EQ_INT(jpu_perf_parse_scale("1e-400", 6, &v), -ERANGE);
	/* not NUL-terminated input: only len bytes are looked at */
	CHECK_EQ_INT(jpu_perf_parse_scale("0.5garbage", 3, &v), 0);
	CHECK(v == 0.5);
}

/* A comma decimal locale must not change how sysfs is read (meson:
 * perf_locale; SKIP where no such locale can be had). */
static int test_scale_locale(void)
{
	static const char *const locs[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR"};
	double v = 0;
	const char *got = NULL;

	char dir[] = "/tmp/jpu-locale-XXXXXX", cmd[256];

	for (size_t i = 0; i < JPU_ARRAY_SIZE(locs) && !got; i++)
		got = setlocale(LC_NUMERIC, locs[i]);
	/* none installed: compile one into a private LOCPATH */
	if (!got && mkdtemp(dir)) {
		snprintf(cmd, sizeof cmd,
		         "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", dir);
		if (system(cmd) == 0) {
			setenv("LOCPATH", dir, 1);
			got = setlocale(LC_NUMERIC, "de_DE.UTF-8");
		}
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	if (!got)
		return check_skip("locale: no comma-decimal locale available");
	CHECK(strtod("0,25", NULL) == 0.25); /* the locale is in force */
	CHECK_EQ_INT(jpu_perf_parse_scale("0.25\n", 5, &v), 0);
	CHECK(v == 0.25);
	setlocale(LC_NUMERIC, "C");
	return 0;
}

static void test_parse_event(void)
{
	uint64_t c = 9;

	CHECK_EQ_INT(jpu_perf_parse_event("event=0x02\n", 11, &c), 0);
	CHECK_EQ_U64(c, 2);
	CHECK_EQ_INT(jpu_perf_parse_event("event=0xFfFf", 12, &c), 0);
	CHECK_EQ_U64(c, 0xffff);
	CHECK_EQ_INT(jpu_perf_parse_event("event=0xffffffffffffffff", 24, &c), 0);
	CHECK_EQ_U64(c, UINT64_MAX);
	c = 9;
	CHECK_EQ_INT(jpu_perf_parse_event("event=0x1ffffffffffffffff", 25, &c), -ERANGE);
	CHECK_EQ_INT(jpu_perf_parse_event("event=0x", 8, &c), -EINVAL);
	CHECK_EQ_INT(jpu_perf_parse_event("event=2", 7, &c), -EINVAL);
	CHECK_EQ_INT(jpu_perf_parse_event("event=0x02,umask=0x1", 20, &c), -EINVAL);
	CHECK_EQ_INT(jpu_perf_parse_event("config=0x02", 11, &c), -EINVAL);
	CHECK_EQ_INT(jpu_perf_parse_event("event=0x0g", 10, &c), -EINVAL);
	CHECK_EQ_INT(jpu_perf_parse_event("", 0, &c), -EINVAL);
	CHECK_EQ_U64(c, 9);
}

/* ---- injected system calls ---------------------------------------------- */

#define MAX_OPENS 16

static struct {
	unsigned n_open;
	uint32_t type[MAX_OPENS];
	uint64_t config[MAX_OPENS];
	int cpu[MAX_OPENS];
	int fd[MAX_OPENS];
	int fail_open;       /* -errno to return from open, 0 = succeed */
	uint64_t count;      /* what read returns */
	ssize_t read_result; /* 0 = 8 bytes of count, else this */
} fake;

static int fake_open(uint32_t type, uint64_t config, int cpu, void *ud)
{
	int fd;

	if (fake.fail_open)
		return fake.fail_open;
	if (fake.n_open >= MAX_OPENS)
		return -EMFILE;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fake.type[fake.n_open] = type;
	fake.config[fake.n_open] = config;
	fake.cpu[fake.n_open] = cpu;
	fake.fd[fake.n_open] = fd;
	fake.n_open++;
	return fd;
}

static ssize_t fake_read(int fd, void *buf, size_t n, void *ud)
{
	if (fake.read_result)
		return fake.read_result;
	if (n != sizeof fake.count)
		return -EINVAL;
	memcpy(buf, &fake.count, sizeof fake.count);
	return (ssize_t)n;
}

static const struct jpu_perf_sys fake_sys = {fake_open, fake_read, NULL};

static void reset_fake(void)
{
	memset(&fake, 0, sizeof fake);
	fake.count = 1ULL << 32; /* 1 J: a counting event */
	jpu_perf_set_sys(&fake_sys);
}

static void test_probe_2s(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	int fd = fixture_sys("intel-2s-dram");

	reset_fake();
	fake.count = 10ULL << 32; /* 10 J at 2^-32 J per count */
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_perf, fd, &s, &diag), 4);
	/* energy-pkg then energy-ram, each on the first CPU of each package */
	CHECK_EQ_INT(fake.n_open, 4);
	CHECK_EQ_INT(fake.type[0], 25);
	CHECK_EQ_U64(fake.config[0], 2);
	CHECK_EQ_INT(fake.cpu[0], 0);
	CHECK_EQ_INT(fake.cpu[1], 2);
	CHECK_EQ_U64(fake.config[2], 3);
	CHECK_EQ_INT(fake.cpu[3], 2);
	d = find_domain(&s, "perf:energy-pkg:1");
	CHECK(d && d->kind == JPU_DOM_PACKAGE && d->package == 1 && d->has_energy);
	CHECK(d && strcmp(d->name, "package-1") == 0);
	CHECK(d && d->valid && d->energy_uj == 10000000);
	/* 2^64 counts x 2^-32 J = 2^32 J */
	CHECK(d && d->max_energy_uj == 4294967296000000ULL);
	d = find_domain(&s, "perf:energy-ram:0");
	CHECK(d && d->kind == JPU_DOM_DRAM && d->package == 0);

	fake.count = (10ULL << 32) + (1ULL << 31); /* 10.5 J */
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(d && d->valid && d->energy_uj == 10500000);
	fake.read_result = 4; /* short read */
	CHECK_EQ_INT(s.ops->read(&s, NULL), -EIO);
	CHECK(d && !d->valid);
	fake.read_result = -EIO;
	CHECK_EQ_INT(s.ops->read(&s, NULL), -EIO);
	fake.read_result = 0;
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(d && d->valid);
	close_sensor(&s);
	close(fd);
}

static void test_probe_laptop(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	int fd = fixture_sys("intel-laptop");

	reset_fake();
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_perf, fd, &s, &diag), 5);
	d = find_domain(&s, "perf:energy-gpu:0");
	CHECK(d && d->kind == JPU_DOM_UNCORE);
	d = find_domain(&s, "perf:energy-cores:0");
	CHECK(d && d->kind == JPU_DOM_CORE);
	d = find_domain(&s, "perf:energy-psys:0");
	CHECK(d && d->kind == JPU_DOM_PSYS && d->package == -1);
	close_sensor(&s);
	close(fd);
}

static void test_open_errors(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	int fd = fixture_sys("intel-2s-dram");

	reset_fake();
	fake.fail_open = -EACCES;
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_perf, fd, &s, &diag), -EACCES);
	CHECK_EQ_INT(diag.reason, JPU_REASON_PERMISSION);
	CHECK(strstr(diag.message, "perf_event_paranoid") != NULL);
	CHECK_EQ_U64(s.n_domains, 0);
	close_sensor(&s);
	/* events that open but stay at 0 (a KVM guest here does this) */
	fake.fail_open = 0;
	fake.count = 0;
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_perf, fd, &s, &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	CHECK(strstr(diag.message, "never count") != NULL);
	CHECK_EQ_U64(s.n_domains, 0);
	close_sensor(&s);
	fake.fail_open = -ENOENT;
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_perf, fd, &s, &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	close_sensor(&s);
	close(fd);
}

/* bad event files: that event is skipped, the others are used */
static void test_bad_events(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	char *copy = copy_fixture("intel-2s-dram");
	int fd = copy ? open_dir(copy) : -1;

	reset_fake();
	CHECK_EQ_INT(write_file(copy, "devices/power/events/energy-ram.scale", "1,5e-10\n"), 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_perf, fd, &s, &diag), 2);
	CHECK(find_domain(&s, "perf:energy-ram:0") == NULL);
	close_sensor(&s);
	CHECK_EQ_INT(write_file(copy, "devices/power/events/energy-pkg.unit", "Watts\n"), 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_perf, fd, &s, &diag), -ENOENT);
	CHECK(diag.message[0] != '\0');
	close_sensor(&s);
	CHECK_EQ_INT(write_file(copy, "devices/power/type", "4294967296\n"), 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_perf, fd, &s, &diag), -EOPNOTSUPP);
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

/* the real system call path on a machine without the PMU */
static void test_vm_empty(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	int fd = fixture_sys("vm-empty");

	jpu_perf_set_sys(NULL);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_perf, fd, &s, &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	CHECK(strstr(diag.message, "power") != NULL);
	close_sensor(&s);
	close(fd);
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

/* The engine over perf counts: a count that starts again (the event
 * reopened, a CPU back from hotplug) is a reset under the same rule as
 * powercap, not a wrap of its 2^64-count range (4.3 GJ). */
static void test_engine_reset(void)
{
	char sys[1200], proc[1200];
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_summary sum = {.sz = sizeof sum};
	jpu_engine *e = NULL;
	uint64_t measured_uj = 0;

	reset_fake();
	snprintf(sys, sizeof sys, "%s/intel-2s-dram/sys", fixtures());
	snprintf(proc, sizeof proc, "%s/proc-basic/proc", fixtures());
	o.sysfs_root = sys;
	o.procfs_root = proc;
	o.sensors = "perf";
	fake.count = 1000ULL << 32;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	if (!e)
		return;
	jpu_engine_set_clocks(e, clock_mono, clock_real);
	CHECK_EQ_INT(jpu_engine_sample(e), 0);
	for (int t = 1; t <= 6; t++) {
		fake_mono += 1000000;
		fake_real += 1000000;
		/* every event (2 packages, 2 DRAM) gains 25 J a second; at t 4
		 * the counts start again from 3 J */
		fake.count = t == 4 ? 3ULL << 32 : fake.count + (25ULL << 32);
		CHECK_EQ_INT(jpu_engine_sample(e), 1);
		CHECK_EQ_INT(jpu_engine_summary(e, &sum), 0);
		if (t == 4) {
			CHECK(!sum.has_cpu);
		} else {
			CHECK(sum.has_cpu && sum.cpu_total_uw == 100000000);
			measured_uj += 100000000;
		}
		CHECK_EQ_U64(sum.energy_uj, measured_uj);
	}
	jpu_engine_free(e);
	jpu_perf_set_sys(NULL);
}

int main(int argc, char **argv)
{
	/* the locale is a test of its own (meson: perf_locale) */
	if (argc > 1)
		return strcmp(argv[1], "--locale") == 0 ? check_part_end(test_scale_locale())
		                                        : check_bad_part(argv[1]);
	test_parse_scale();
	test_parse_event();
	test_probe_2s();
	test_probe_laptop();
	test_open_errors();
	test_bad_events();
	test_vm_empty();
	test_engine_reset();
	return check_summary();
}
