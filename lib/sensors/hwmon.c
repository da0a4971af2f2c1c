/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hwmon energy and power sensors: <sysfs>/class/hwmon/hwmonN/ with `name`,
 * `energyN_input` (µJ, cumulative), `powerN_average` / `powerN_input` (µW),
 * `powerN_cap` (µW, limit) and `*_label` (the kernel's
 * Documentation/hwmon/sysfs-interface.rst).
 *
 * Chips and what they become:
 *  - amdgpu, i915, xe: GPU. An APU's amdgpu (integrated GPU) is the
 *    exception: its PPT figure is the whole SoC's, CPU cores included, so
 *    it becomes PSYS (reported apart, never added to the CPU or GPU parts).
 *    It is recognised by the `in1` "vddnb" (northbridge voltage) sensor,
 *    which amdgpu creates only on APUs (drivers/gpu/drm/amd/pm/amdgpu_pm.c,
 *    hwmon_attributes_visible: "only APUs have vddnb"). i915 and xe create
 *    their hwmon for discrete cards only. The i915/xe limit is `powerN_max` (PL1,
 *    Documentation/ABI/testing/sysfs-driver-intel-{i915,xe}-hwmon); xe's
 *    "pkg" sensor is inside its "card" sensor, so it is a duplicate when
 *    the card is there.
 *  - amd_energy: `Esocket*` labels are the CPU packages; `Ecore*` labels
 *    are cores inside them and are skipped. These read the same RAPL MSRs
 *    as powercap, so their ids are "hwmon:amd_energy:socketN" and the
 *    engine prefers rapl packages (jpu_domain_is_hwmon_socket()).
 *  - anything else (acpi_power_meter, ARM board monitors such as ina3221):
 *    OTHER, left to the engine.
 * An energy counter is preferred over a power reading of the same index.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../internal.h"

#define HWMON_MAX_INDEX 64

bool jpu_domain_is_hwmon_socket(const struct jpu_domain *d)
{
	return d && strncmp(d->id, "hwmon:amd_energy:socket", 23) == 0;
}

/* "<prefix><digits><suffix>" -> index; 0 when it does not match */
static unsigned attr_index(const char *name, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix);
	const char *p = name + pl;
	unsigned v = 0;

	if (strncmp(name, prefix, pl) != 0 || *p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p - '0');
		if (v >= HWMON_MAX_INDEX)
			return 0;
		p++;
	}
	return strcmp(p, suffix) == 0 ? v : 0;
}

/* bit sets of the attributes present in one hwmon directory */
struct hwmon_attrs {
	uint64_t energy, power_avg, power_in;
};

static int scan_attrs(int hfd, struct hwmon_attrs *a)
{
	struct dirent *de;
	DIR *dir;
	int fd = fcntl(hfd, F_DUPFD_CLOEXEC, 3);

	memset(a, 0, sizeof *a);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		int r = -errno;

		close(fd);
		return r;
	}
	while ((de = readdir(dir))) {
		unsigned i;

		if ((i = attr_index(de->d_name, "energy", "_input")))
			a->energy |= 1ULL << i;
		else if ((i = attr_index(de->d_name, "power", "_average")))
			a->power_avg |= 1ULL << i;
		else if ((i = attr_index(de->d_name, "power", "_input")))
			a->power_in |= 1ULL << i;
	}
	closedir(dir);
	return 0;
}

static int cmp_hwmon(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* hwmonN indices under class/hwmon, sorted numerically */
static int list_hwmon(int cfd, unsigned **ret, size_t *ret_n)
{
	unsigned *v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *dir;
	int fd = fcntl(cfd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		int r = -errno;

		close(fd);
		return r;
	}
	while ((de = readdir(dir))) {
		const char *p = de->d_name + 5;
		unsigned long idx = 0;
		unsigned *nv;

		if (strncmp(de->d_name, "hwmon", 5) != 0 || *p == '\0')
			continue;
		for (; *p >= '0' && *p <= '9' && idx < 100000; p++)
			idx = idx * 10 + (unsigned long)(*p - '0');
		if (*p != '\0')
			continue;
		nv = realloc(v, (n + 1) * sizeof *v);
		if (!nv) {
			closedir(dir);
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[n++] = (unsigned)idx;
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof *v, cmp_hwmon);
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool is_gpu_chip(const char *chip)
{
	return strcmp(chip, "amdgpu") == 0 || strcmp(chip, "i915") == 0 || strcmp(chip, "xe") == 0;
}

/* Parse "Esocket<N>" */
static bool socket_label(const char *label, int *ret)
{
	const char *p = label + 7;
	int v = 0;

	if (strncmp(label, "Esocket", 7) != 0 || *p == '\0')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > 4096)
			return false;
	}
	if (*p != '\0')
		return false;
	*ret = v;
	return true;
}

struct probe_state {
	size_t n_denied;
	char denied[64];
};

/* Add the domain of one attribute index of one chip. Returns 0 (added or
 * skipped) or -ENOMEM. */
static int add_index(struct jpu_sensor *s, int hfd, unsigned hw, const char *chip, bool soc,
                     unsigned i, bool energy, const char *power_attr, struct probe_state *st,
                     const struct jpu_logger *log)
{
	char path[48], label[48] = "";
	struct jpu_domain *d;
	int fd, sock = -1;
	enum jpu_domain_kind kind = JPU_DOM_OTHER;
	uint64_t uw;

	snprintf(path, sizeof path, energy ? "energy%u_label" : "power%u_label", i);
	if (jpu_read_str_at(hfd, path, label, sizeof label) < 0)
		label[0] = '\0';
	if (strcmp(chip, "amd_energy") == 0) {
		/* per-core counters are inside the socket one */
		if (!energy || !socket_label(label, &sock))
			return 0;
		kind = JPU_DOM_PACKAGE;
	} else if (is_gpu_chip(chip)) {
		kind = soc ? JPU_DOM_PSYS : JPU_DOM_GPU;
	}
	if (energy)
		snprintf(path, sizeof path, "energy%u_input", i);
	else
		snprintf(path, sizeof path, "power%u_%s", i, power_attr);
	fd = jpu_open_at(hfd, path);
	if (fd < 0) {
		if (fd == -EACCES || fd == -EPERM) {
			if (st->n_denied++ == 0)
				snprintf(st->denied, sizeof st->denied, "hwmon%u/%s", hw, path);
		} else {
			jpu_logf(log, JPU_LOG_INFO, "hwmon: hwmon%u/%s: %s, skipped", hw, path,
			         strerror(-fd));
		}
		return 0;
	}
	d = jpu_sensor_add_domain(s);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	d->fd = fd;
	d->kind = kind;
	d->has_energy = energy;
	d->has_power = !energy;
	if (sock >= 0) {
		d->package = sock;
		snprintf(d->id, sizeof d->id, "hwmon:amd_energy:socket%d", sock);
		snprintf(d->name, sizeof d->name, "package-%d", sock);
	} else {
		snprintf(d->id, sizeof d->id, "hwmon:%s:hwmon%u/%s%u", chip, hw,
		         energy ? "energy" : "power", i);
		snprintf(d->name, sizeof d->name, "%s/%s", chip, label[0] ? label : path);
	}
	snprintf(path, sizeof path, "power%u_cap", i);
	if (jpu_read_u64_at(hfd, path, &uw) == 0 && uw > 0) {
		d->has_limit = true;
		d->limit_uw = uw;
	} else if (strcmp(chip, "i915") == 0 || strcmp(chip, "xe") == 0) {
		snprintf(path, sizeof path, "power%u_max", i);
		if (jpu_read_u64_at(hfd, path, &uw) == 0 && uw > 0) {
			d->has_limit = true;
			d->limit_uw = uw;
		}
	}
	/* remember the label for the xe card/pkg rule (priv: 1 = "pkg") */
	d->priv = strcmp(chip, "xe") == 0 && strcmp(label, "pkg") == 0;
	return 0;
}

static void read_one(struct jpu_domain *d, const struct jpu_logger *log)
{
	uint64_t v;
	int r = jpu_read_u64_fd(d->fd, &v);

	if (r < 0) {
		if (d->valid)
			jpu_logf(log, JPU_LOG_WARNING, "hwmon: cannot read %s: %s", d->id,
			         strerror(-r));
		d->valid = false;
		return;
	}
	if (d->has_energy)
		d->energy_uj = v;
	else
		d->power_uw = v;
	d->valid = true;
}

static int hwmon_read(struct jpu_sensor *s, const struct jpu_sense_ctx *ctx)
{
	size_t ok = 0;

	for (size_t i = 0; i < s->n_domains; i++) {
		read_one(&s->domains[i], s->log);
		ok += s->domains[i].valid;
	}
	return ok ? 0 : -EIO;
}

static int probe_chip(struct jpu_sensor *s, int cfd, unsigned hw, struct probe_state *st,
                      const struct jpu_logger *log)
{
	char dname[32], chip[32];
	struct hwmon_attrs a;
	size_t first = s->n_domains;
	bool xe_card = false, soc = false;
	char label[16];
	int hfd, r;

	snprintf(dname, sizeof dname, "hwmon%u", hw);
	hfd = openat(cfd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (hfd < 0) {
		jpu_logf(log, JPU_LOG_INFO, "hwmon: %s vanished: %s", dname, strerror(errno));
		return 0;
	}
	if (jpu_read_str_at(hfd, "name", chip, sizeof chip) < 0 || chip[0] == '\0' ||
	    scan_attrs(hfd, &a) < 0) {
		close(hfd);
		return 0;
	}
	/* an APU's amdgpu measures the whole SoC (see the top of this file) */
	if (strcmp(chip, "amdgpu") == 0 &&
	    jpu_read_str_at(hfd, "in1_label", label, sizeof label) == 0 &&
	    strcmp(label, "vddnb") == 0) {
		soc = true;
		jpu_logf(log, JPU_LOG_INFO,
		         "hwmon: %s is an APU's amdgpu: its power is the whole SoC's, reported "
		         "as psys",
		         dname);
	}
	for (unsigned i = 1; i < HWMON_MAX_INDEX; i++) {
		uint64_t bit = 1ULL << i;

		if (a.energy & bit)
			r = add_index(s, hfd, hw, chip, soc, i, true, NULL, st, log);
		else if (a.power_avg & bit)
			r = add_index(s, hfd, hw, chip, soc, i, false, "average", st, log);
		else if (a.power_in & bit)
			r = add_index(s, hfd, hw, chip, soc, i, false, "input", st, log);
		else
			continue;
		if (r < 0) {
			close(hfd);
			return r;
		}
	}
	close(hfd);
	/* xe: "card" covers "pkg" */
	for (size_t i = first; i < s->n_domains; i++)
		if (strcmp(chip, "xe") == 0 && strstr(s->domains[i].name, "/card"))
			xe_card = true;
	for (size_t i = first; i < s->n_domains; i++) {
		if (xe_card && s->domains[i].priv == 1)
			s->domains[i].duplicate = true;
		s->domains[i].priv = 0;
	}
	return 0;
}

static int hwmon_probe(struct jpu_sensor *s, const struct jpu_probe_opts *o, struct jpu_diag *diag)
{
	struct probe_state st = {0};
	unsigned *idx = NULL;
	size_t n = 0;
	int cfd, r;

	s->log = o->log;
	cfd = openat(o->sysfs_fd, "class/hwmon", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		diag->reason = JPU_REASON_ABSENT;
		snprintf(diag->message, sizeof diag->message,
		         "hwmon: no class/hwmon in sysfs (%s): no hardware monitoring driver",
		         strerror(errno));
		return -ENOENT;
	}
	r = list_hwmon(cfd, &idx, &n);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = probe_chip(s, cfd, idx[i], &st, o->log);
	free(idx);
	close(cfd);
	if (r < 0)
		goto fail;
	if (s->n_domains == 0) {
		if (st.n_denied) {
			diag->reason = JPU_REASON_PERMISSION;
			snprintf(
			        diag->message, sizeof diag->message,
			        "hwmon: %s is readable by root only (amd_energy restricts it since "
			        "CVE-2020-8694). Let the group " JPU_POWERCAP_GROUP
			        " read it with the udev rule " JPU_UDEV_RULE
			        " (installed in share/jpu, data/ in the source): "
			        "see " JPU_PERMISSIONS_DOC
			        "; or run jpud. Never make it world-readable.",
			        st.denied);
			r = -EACCES;
		} else {
			diag->reason = JPU_REASON_ABSENT;
			snprintf(diag->message, sizeof diag->message,
			         "hwmon: no energy or power sensor under class/hwmon");
			r = -ENOENT;
		}
		goto fail;
	}
	for (size_t i = 0; i < s->n_domains; i++)
		read_one(&s->domains[i], o->log);
	return (int)s->n_domains;
fail:
	jpu_sensor_free_domains(s);
	return r;
}

static void hwmon_close(struct jpu_sensor *s)
{
	jpu_sensor_free_domains(s);
}

const struct jpu_sensor_ops jpu_sensor_hwmon = {
        .name = "hwmon",
        .source = JPU_SRC_HWMON,
        .probe = hwmon_probe,
        .read = hwmon_read,
        .close = hwmon_close,
};
