/* SPDX-License-Identifier: BSD-3-Clause */
/* The hwmon backend against fixture trees and throw-away copies. */
#include "check.h"
#include "sensor_util.h"

#define AMDGPU "devices/pci0000:00/0000:00:01.1/0000:01:00.0/0000:02:00.0/0000:03:00.0/hwmon/hwmon1"
#define AMDE   "devices/platform/amd_energy.0/hwmon/hwmon1"

static void test_amdgpu(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	int fd = fixture_sys("hwmon-amdgpu");

	/* acpitz and nvme have temperatures only: not domains */
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_hwmon, fd, &s, &diag), 1);
	d = find_domain(&s, "hwmon:amdgpu:hwmon1/power1");
	CHECK(d != NULL);
	if (d) {
		CHECK_STR(d->name, "amdgpu/PPT");
		CHECK_EQ_INT(d->kind, JPU_DOM_GPU);
		CHECK(d->has_power && !d->has_energy);
		CHECK(d->valid);
		CHECK_EQ_U64(d->power_uw, 35000000);
		CHECK(d->has_limit);
		CHECK_EQ_U64(d->limit_uw, 203000000);
		CHECK(!jpu_domain_is_hwmon_socket(d));
		CHECK((fcntl(d->fd, F_GETFD) & FD_CLOEXEC) != 0);
	}
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	close_sensor(&s);
	close(fd);
}

static void test_amd_energy(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	int fd = fixture_sys("hwmon-amd-energy");

	/* Ecore* are inside the sockets: only the two Esocket counters */
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_hwmon, fd, &s, &diag), 2);
	d = find_domain(&s, "hwmon:amd_energy:socket0");
	CHECK(d && d->kind == JPU_DOM_PACKAGE && d->package == 0 && d->has_energy);
	CHECK(d && d->valid && d->energy_uj == 98765432109ULL);
	CHECK(d && jpu_domain_is_hwmon_socket(d));
	CHECK(d && strcmp(d->name, "package-0") == 0);
	d = find_domain(&s, "hwmon:amd_energy:socket1");
	CHECK(d && d->package == 1 && d->energy_uj == 87654321098ULL);
	close_sensor(&s);
	close(fd);
}

static void test_vm_empty(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	int fd = fixture_sys("vm-empty");

	CHECK_EQ_INT(probe_sensor(&jpu_sensor_hwmon, fd, &s, &diag), -ENOENT);
	CHECK_EQ_INT(diag.reason, JPU_REASON_ABSENT);
	CHECK(diag.message[0] != '\0');
	close_sensor(&s);
	close(fd);
}

/* energy preferred over power; power_input when there is no average */
static void test_preference(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	char *copy = copy_fixture("hwmon-amdgpu");
	int fd = copy ? open_dir(copy) : -1;

	CHECK_EQ_INT(remove_file(copy, AMDGPU "/power1_average"), 0);
	CHECK_EQ_INT(write_file(copy, AMDGPU "/power1_input", "41000000\n"), 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_hwmon, fd, &s, &diag), 1);
	d = s.n_domains ? &s.domains[0] : NULL;
	CHECK(d && d->has_power && d->power_uw == 41000000);
	/* garbage power: invalid, and the only domain: the read fails */
	CHECK_EQ_INT(write_file(copy, AMDGPU "/power1_input", "-3\n"), 0);
	CHECK_EQ_INT(s.ops->read(&s, NULL), -EIO);
	CHECK(d && !d->valid);
	CHECK_EQ_INT(write_file(copy, AMDGPU "/power1_input", ""), 0);
	CHECK_EQ_INT(s.ops->read(&s, NULL), -EIO);
	CHECK_EQ_INT(write_file(copy, AMDGPU "/power1_input", "42000000\n"), 0);
	CHECK_EQ_INT(s.ops->read(&s, NULL), 0);
	CHECK(d && d->valid && d->power_uw == 42000000);
	close_sensor(&s);

	CHECK_EQ_INT(write_file(copy, AMDGPU "/energy1_input", "123456\n"), 0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_hwmon, fd, &s, &diag), 1);
	d = s.n_domains ? &s.domains[0] : NULL;
	CHECK(d && d->has_energy && !d->has_power && d->energy_uj == 123456);
	CHECK(d && strcmp(d->id, "hwmon:amdgpu:hwmon1/energy1") == 0);
	CHECK(d && d->limit_uw == 203000000); /* the cap of the same index */
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

/* xe: card and pkg sensors, pkg inside card; limit from power*_max;
 * a dangling hwmon link (device gone between readdir and open) */
static void test_xe_and_vanished(void)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	struct jpu_domain *d;
	char *copy = copy_fixture("hwmon-amdgpu");
	int fd = copy ? open_dir(copy) : -1;
	char dir[64] = "devices/pci0000:00/0000:00:02.0/hwmon/hwmon3";
	char cmd[1400];

	snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", copy, dir);
	CHECK_EQ_INT(system(cmd), 0);
	write_file(copy, "devices/pci0000:00/0000:00:02.0/hwmon/hwmon3/name", "xe\n");
	write_file(copy, "devices/pci0000:00/0000:00:02.0/hwmon/hwmon3/energy1_input", "1000\n");
	write_file(copy, "devices/pci0000:00/0000:00:02.0/hwmon/hwmon3/energy1_label", "card\n");
	write_file(copy, "devices/pci0000:00/0000:00:02.0/hwmon/hwmon3/energy2_input", "600\n");
	write_file(copy, "devices/pci0000:00/0000:00:02.0/hwmon/hwmon3/energy2_label", "pkg\n");
	write_file(copy, "devices/pci0000:00/0000:00:02.0/hwmon/hwmon3/power2_max", "35000000\n");
	CHECK_EQ_INT(make_link(copy, "class/hwmon/hwmon3",
	                       "../../devices/pci0000:00/0000:00:02.0/hwmon/hwmon3"),
	             0);
	CHECK_EQ_INT(make_link(copy, "class/hwmon/hwmon4",
	                       "../../devices/pci0000:00/0000:00:09.0/hwmon/hwmon4"),
	             0);
	CHECK_EQ_INT(probe_sensor(&jpu_sensor_hwmon, fd, &s, &diag), 3);
	d = find_domain(&s, "hwmon:xe:hwmon3/energy1");
	CHECK(d && d->kind == JPU_DOM_GPU && !d->duplicate && !d->has_limit);
	CHECK(d && strcmp(d->name, "xe/card") == 0);
	d = find_domain(&s, "hwmon:xe:hwmon3/energy2");
	CHECK(d && d->duplicate && d->has_limit && d->limit_uw == 35000000);
	close_sensor(&s);
	close(fd);
	remove_copy(copy);
}

static int unpriv_probe(void *arg)
{
	struct jpu_sensor s;
	struct jpu_diag diag;
	int fd = open_dir(arg), r;

	if (fd < 0)
		return 10;
	r = probe_sensor(&jpu_sensor_hwmon, fd, &s, &diag);
	close_sensor(&s);
	if (r != -EACCES)
		return 11;
	/* the one recipe: the shipped rule, its group, the doc section */
	return diag.reason == JPU_REASON_PERMISSION && strstr(diag.message, "jpud") &&
	                       strstr(diag.message, "udev rule 90-jpu-powercap.rules") &&
	                       strstr(diag.message, "group powercap") &&
	                       strstr(diag.message, "PERMISSIONS in jpu(1)")
	               ? 0
	               : 12;
}

/* meson: hwmon_permission; SKIP where the test cannot drop to uid 65534 */
static int test_permission(void)
{
	char *copy;
	char cmd[1400];
	int r;

	if (geteuid() != 0)
		return check_skip("permission: not root, cannot drop to uid 65534");
	copy = copy_fixture("hwmon-amd-energy");
	CHECK(copy != NULL);
	if (!copy)
		return 0;
	CHECK_EQ_INT(open_up_dirs(copy), 0);
	snprintf(cmd, sizeof cmd, "chmod 0400 '%s/%s/'energy*_input", copy, AMDE);
	CHECK_EQ_INT(system(cmd), 0);
	r = run_unprivileged(unpriv_probe, copy);
	remove_copy(copy);
	if (r < 0)
		return check_skip("permission: cannot drop to uid 65534 here");
	CHECK_EQ_INT(r, 0);
	return 0;
}

int main(int argc, char **argv)
{
	/* the permission part is a test of its own (meson: hwmon_permission) */
	if (argc > 1)
		return strcmp(argv[1], "--permission") == 0 ? check_part_end(test_permission())
		                                            : check_bad_part(argv[1]);
	test_amdgpu();
	test_amd_energy();
	test_vm_empty();
	test_preference();
	test_xe_and_vanished();
	return check_summary();
}
