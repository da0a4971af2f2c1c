/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/sensors/nvml.c against the stub libnvidia-ml.so.1 variants built by
 * tests/meson.build (behaviour set through a control file, see
 * tests/stub_nvml.c).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

static char ctl_path[256], log_path[256], lib_full[512], lib_old[512], lib_min[512],
        lib_broken[512];
static unsigned n_warnings, n_lost_logs;

static void logfn(int level, const char *msg, void *userdata)
{
	(void)userdata;
	if (level <= JPU_LOG_WARNING)
		n_warnings++;
	if (strstr(msg, "GPU is lost"))
		n_lost_logs++;
}

static const struct jpu_logger logger = {.fn = logfn};

static void write_ctl(const char *text)
{
	FILE *f = fopen(ctl_path, "w");

	if (!f) {
		perror(ctl_path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static int probe(struct jpu_sensor *s, const char *lib, struct jpu_diag *diag)
{
	struct jpu_probe_opts o = {.sysfs_fd = -1, .procfs_fd = -1, .nvml_library = lib};

	memset(s, 0, sizeof *s);
	memset(diag, 0, sizeof *diag);
	s->ops = &jpu_sensor_nvml;
	s->log = &logger;
	return jpu_sensor_nvml.probe(s, &o, diag);
}

static const char two_gpus[] = "init=ok\n"
                               "count=2\n"
                               "gpu.0.name=NVIDIA H100 80GB HBM3\n"
                               "gpu.0.power_mw=312500\n"
                               "gpu.0.energy_mj=1000000\n"
                               "gpu.0.energy_step_mj=250\n"
                               "gpu.0.limit_mw=700000\n"
                               "gpu.1.name=Tesla T4\n"
                               "gpu.1.power_mw=27000\n"
                               "gpu.1.energy_mj=5\n";

static void test_missing_library(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	void *real = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);

	CHECK_EQ_INT(probe(&s, "/nonexistent/libnvidia-ml.so.1", &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	CHECK(strstr(diag.message, "no NVIDIA driver") != NULL);
	CHECK(strstr(diag.message, "/nonexistent/libnvidia-ml.so.1") != NULL);
	CHECK(s.priv == NULL && s.domains == NULL);
	jpu_sensor_nvml.close(&s); /* after a failed probe: harmless */

	/* the default name: only where this machine has no driver */
	if (real) {
		dlclose(real);
	} else {
		CHECK_EQ_INT(probe(&s, NULL, &diag), -ENOENT);
		CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
		CHECK_STR(diag.message, "no NVIDIA driver (libnvidia-ml.so.1 not found)");
	}

	/* "" switches GPUs off without trying */
	CHECK_EQ_INT(probe(&s, "", &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	CHECK(strstr(diag.message, "disabled") != NULL);
}

static void test_full(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_sense_ctx ctx = {0};
	FILE *f;
	char buf[128] = "";
	size_t n;

	unlink(log_path);
	write_ctl(two_gpus);
	CHECK_EQ_INT(probe(&s, lib_full, &diag), 2);
	CHECK_EQ_U64(s.n_domains, 2);
	CHECK_STR(s.domains[0].name, "GPU 0: NVIDIA H100 80GB HBM3");
	CHECK_STR(s.domains[0].id, "nvml:0");
	CHECK_STR(s.domains[1].name, "GPU 1: Tesla T4");
	CHECK_STR(s.domains[1].id, "nvml:1");
	CHECK_EQ_INT(s.domains[0].kind, JPU_DOM_GPU);
	CHECK(s.domains[0].has_energy && s.domains[0].has_power);
	CHECK(s.domains[0].has_limit);
	CHECK_EQ_U64(s.domains[0].limit_uw, 700000000);
	CHECK(!s.domains[1].has_limit); /* stub answers NOT_SUPPORTED */

	/* probe made one energy call on each GPU: the next is step 1 */
	CHECK_EQ_INT(jpu_sensor_nvml.read(&s, &ctx), 0);
	CHECK(s.domains[0].valid && s.domains[1].valid);
	CHECK_EQ_U64(s.domains[0].energy_uj, (1000000ULL + 250) * 1000);
	CHECK_EQ_U64(s.domains[0].power_uw, 312500000);
	CHECK_EQ_U64(s.domains[1].energy_uj, 5000);
	CHECK_EQ_U64(s.domains[1].power_uw, 27000000);
	CHECK_EQ_INT(jpu_sensor_nvml.read(&s, &ctx), 0);
	CHECK_EQ_U64(s.domains[0].energy_uj, (1000000ULL + 500) * 1000);

	jpu_sensor_nvml.close(&s);
	CHECK(s.priv == NULL && s.domains == NULL && s.n_domains == 0);
	/* close() shut NVML down */
	f = fopen(log_path, "r");
	CHECK(f != NULL);
	if (f) {
		n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	CHECK_STR(buf, "init\nshutdown\n");
}

static const struct jpu_gpu_proc *find_proc(const struct jpu_gpu_proc *p, int n, pid_t pid,
                                            unsigned dev)
{
	for (int i = 0; i < n; i++)
		if (p[i].pid == pid && p[i].device == dev)
			return &p[i];
	return NULL;
}

static void test_gpu_procs(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_gpu_proc out[16];
	const struct jpu_gpu_proc *p;
	uint64_t now = jpu_now_real_usec();
	char ctl[2048];
	int n;

	/* a sample older than the probe must not count; pid 100 has two
	 * new samples (40 and 60: mean 50); pid 300 only holds memory */
	snprintf(ctl, sizeof ctl,
	         "%scount=2\n"
	         "gpu.0.util=100,99,%llu\n"
	         "gpu.0.util=100,40,%llu\n"
	         "gpu.0.util=100,60,%llu\n"
	         "gpu.0.util=200,10,%llu\n"
	         "gpu.0.proc=100,1048576\n"
	         "gpu.0.proc=300,2097152\n"
	         "gpu.1.util=400,75,%llu\n",
	         two_gpus, (unsigned long long)(now - 5000000), (unsigned long long)(now + 1000000),
	         (unsigned long long)(now + 2000000), (unsigned long long)(now + 2000000),
	         (unsigned long long)(now + 3000000));
	write_ctl(ctl);
	CHECK_EQ_INT(probe(&s, lib_full, &diag), 2);
	n = jpu_sensor_nvml.gpu_procs(&s, out, JPU_ARRAY_SIZE(out));
	CHECK_EQ_INT(n, 4);
	p = find_proc(out, n, 100, 0);
	CHECK(p && p->sm_util == 50 && p->mem_bytes == 1048576);
	p = find_proc(out, n, 200, 0);
	CHECK(p && p->sm_util == 10 && p->mem_bytes == 0);
	p = find_proc(out, n, 300, 0);
	CHECK(p && p->sm_util == 0 && p->mem_bytes == 2097152);
	p = find_proc(out, n, 400, 1);
	CHECK(p && p->sm_util == 75);

	/* next interval: no new sample, memory holders remain */
	n = jpu_sensor_nvml.gpu_procs(&s, out, JPU_ARRAY_SIZE(out));
	CHECK_EQ_INT(n, 2);
	p = find_proc(out, n, 100, 0);
	CHECK(p && p->sm_util == 0 && p->mem_bytes == 1048576);
	CHECK(find_proc(out, n, 400, 1) == NULL);

	/* a bounded output buffer is never overrun */
	snprintf(ctl + strlen(ctl), sizeof ctl - strlen(ctl), "gpu.0.util=100,30,%llu\n",
	         (unsigned long long)(now + 9000000));
	write_ctl(ctl);
	n = jpu_sensor_nvml.gpu_procs(&s, out, 1);
	CHECK_EQ_INT(n, 1);
	CHECK(out[0].pid == 100 && out[0].sm_util == 30);
	jpu_sensor_nvml.close(&s);
}

static void test_init_failures(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;

	write_ctl("init=no_permission\ncount=1\n");
	CHECK_EQ_INT(probe(&s, lib_full, &diag), -EACCES);
	CHECK_EQ_INT(diag.reason, JPU_REASON_PERMISSION);
	CHECK(strstr(diag.message, "Insufficient Permissions") != NULL);
	CHECK(s.priv == NULL);

	write_ctl("init=driver_not_loaded\ncount=1\n");
	CHECK_EQ_INT(probe(&s, lib_full, &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	CHECK(strstr(diag.message, "Driver Not Loaded") != NULL);

	write_ctl("init=mismatch\n");
	CHECK_EQ_INT(probe(&s, lib_full, &diag), -EOPNOTSUPP);
	CHECK_EQ_INT(diag.reason, JPU_REASON_UNSUPPORTED);

	write_ctl("init=unknown\n");
	CHECK_EQ_INT(probe(&s, lib_full, &diag), -EIO);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ERROR);
	CHECK(strstr(diag.message, "Unknown Error") != NULL);

	/* driver present, no GPU */
	write_ctl("count=0\n");
	CHECK_EQ_INT(probe(&s, lib_full, &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	CHECK(strstr(diag.message, "no GPU") != NULL);
}

static void test_old_driver(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_sense_ctx ctx = {0};
	struct jpu_gpu_proc out[4];

	/* no TotalEnergyConsumption, no _v3: power path, _v2 processes */
	write_ctl("count=1\ngpu.0.name=Tesla K80\ngpu.0.power_mw=149000\ngpu.0.limit_mw=150000\n"
	          "gpu.0.proc=77,4096\n");
	CHECK_EQ_INT(probe(&s, lib_old, &diag), 1);
	CHECK(!s.domains[0].has_energy);
	CHECK(s.domains[0].has_power);
	CHECK(s.domains[0].has_limit && s.domains[0].limit_uw == 150000000);
	CHECK_EQ_INT(jpu_sensor_nvml.read(&s, &ctx), 0);
	CHECK(s.domains[0].valid);
	CHECK_EQ_U64(s.domains[0].power_uw, 149000000);
	CHECK_EQ_INT(jpu_sensor_nvml.gpu_procs(&s, out, 4), 1);
	CHECK(out[0].pid == 77 && out[0].mem_bytes == 4096);
	jpu_sensor_nvml.close(&s);

	/* symbol there but the GPU cannot count energy (pre-Volta) */
	write_ctl("count=1\ngpu.0.name=Tesla "
	          "P100\ngpu.0.power_mw=50000\ngpu.0.energy=not_supported\n");
	CHECK_EQ_INT(probe(&s, lib_full, &diag), 1);
	CHECK(!s.domains[0].has_energy && s.domains[0].has_power);
	CHECK_EQ_INT(jpu_sensor_nvml.read(&s, &ctx), 0);
	CHECK_EQ_U64(s.domains[0].power_uw, 50000000);
	jpu_sensor_nvml.close(&s);

	/* no optional symbol at all: power only, no limit, no processes */
	write_ctl("count=1\ngpu.0.name=Old\ngpu.0.power_mw=1000\ngpu.0.limit_mw=2000\n"
	          "gpu.0.proc=77,4096\n");
	CHECK_EQ_INT(probe(&s, lib_min, &diag), 1);
	CHECK(!s.domains[0].has_energy && s.domains[0].has_power && !s.domains[0].has_limit);
	CHECK_EQ_INT(jpu_sensor_nvml.gpu_procs(&s, out, 4), 0);
	CHECK_EQ_INT(jpu_sensor_nvml.read(&s, &ctx), 0);
	CHECK_EQ_U64(s.domains[0].power_uw, 1000000);
	jpu_sensor_nvml.close(&s);

	/* a required symbol missing: unsupported, named */
	CHECK_EQ_INT(probe(&s, lib_broken, &diag), -EOPNOTSUPP);
	CHECK_EQ_INT(diag.reason, JPU_REASON_UNSUPPORTED);
	CHECK(strstr(diag.message, "nvmlDeviceGetPowerUsage") != NULL);
	CHECK(s.priv == NULL);
}

static void test_device_lost(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_sense_ctx ctx = {0};
	struct jpu_gpu_proc out[4];
	char ctl[1024];

	write_ctl(two_gpus);
	CHECK_EQ_INT(probe(&s, lib_full, &diag), 2);
	CHECK_EQ_INT(jpu_sensor_nvml.read(&s, &ctx), 0);
	CHECK(s.domains[1].valid);

	/* GPU 1 falls off the bus: GPU 0 still reads, GPU 1 invalid,
	 * logged once however many samples follow */
	snprintf(ctl, sizeof ctl, "%sgpu.1.error=gpu_is_lost\ngpu.1.util=5,50,%llu\n", two_gpus,
	         (unsigned long long)(jpu_now_real_usec() + 1000000));
	write_ctl(ctl);
	n_lost_logs = 0;
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(jpu_sensor_nvml.read(&s, &ctx), 0);
		CHECK(s.domains[0].valid);
		CHECK(!s.domains[1].valid);
	}
	CHECK_EQ_INT(n_lost_logs, 1);
	CHECK_EQ_INT(jpu_sensor_nvml.gpu_procs(&s, out, 4), 0);

	/* both lost: nothing readable, -ENODEV */
	snprintf(ctl, sizeof ctl, "%sgpu.0.error=gpu_is_lost\ngpu.1.error=gpu_is_lost\n", two_gpus);
	write_ctl(ctl);
	CHECK_EQ_INT(jpu_sensor_nvml.read(&s, &ctx), -ENODEV);
	CHECK(!s.domains[0].valid && !s.domains[1].valid);

	/* back again */
	write_ctl(two_gpus);
	CHECK_EQ_INT(jpu_sensor_nvml.read(&s, &ctx), 0);
	CHECK(s.domains[0].valid && s.domains[1].valid);
	jpu_sensor_nvml.close(&s);
}

int main(void)
{
	const char *build = getenv("JPU_BUILD_DIR");
	char tmpl[] = "/tmp/jpu-test-nvml-XXXXXX";

	if (!build || !mkdtemp(tmpl)) {
		fprintf(stderr, "JPU_BUILD_DIR unset or no temporary folder\n");
		return 2;
	}
	snprintf(ctl_path, sizeof ctl_path, "%s/control", tmpl);
	snprintf(log_path, sizeof log_path, "%s/calls", tmpl);
	snprintf(lib_full, sizeof lib_full, "%s/libnvidia-ml.so.1", build);
	snprintf(lib_old, sizeof lib_old, "%s/stub-old/libnvidia-ml.so.1", build);
	snprintf(lib_min, sizeof lib_min, "%s/stub-min/libnvidia-ml.so.1", build);
	snprintf(lib_broken, sizeof lib_broken, "%s/stub-broken/libnvidia-ml.so.1", build);
	setenv("JPU_STUB_NVML", ctl_path, 1);
	setenv("JPU_STUB_NVML_LOG", log_path, 1);

	test_missing_library();
	test_full();
	test_gpu_procs();
	test_init_failures();
	test_old_driver();
	test_device_lost();

	unlink(ctl_path);
	unlink(log_path);
	rmdir(tmpl);
	return check_summary();
}
