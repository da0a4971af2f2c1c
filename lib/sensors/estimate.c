/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An estimate for machines with no readable power sensor (VMs, containers,
 * cloud instances, this project's CI). Documented for users in
 * docs/estimate.md.
 *
 * Model. u = host CPU utilisation over the interval = busy / all ticks from
 * /proc/stat (jpu_sense_ctx.host_delta; steal already excluded), 0 on the
 * first read, so the first figure is the idle point.
 *
 *  - Bare metal (no `hypervisor` cpuinfo flag) whose CPU model is in the
 *    TDP table (CodeCarbon's cpu_power.csv):
 *        P_cpu = TDP x curve(u) x sockets
 *    curve = Teads' load curve for servers, also used by Boavizta:
 *    0 % -> 0.12, 10 % -> 0.32, 50 % -> 0.75, 100 % -> 1.02 of TDP, linear
 *    between the points (Teads Engineering, "Building an AWS EC2 Carbon
 *    Emissions Dataset", B. Davy, 2021; Boavizta API, CPU consumption
 *    profile).
 *  - Otherwise (a VM, or a model not in the table):
 *        P_cpu = vCPUs x (min + (max - min) x u)
 *    with min/max W per vCPU for the microarchitecture guessed from the
 *    model name, from Cloud Carbon Footprint's SPECpower-derived
 *    coefficients ("average" when no guess fits).
 *  - DRAM: P_dram = 0.392 W per GB of memory in use (Cloud Carbon
 *    Footprint, MEMORY_COEFFICIENT; the cloud providers' "GB" of instance
 *    memory are GiB, so GiB here).
 *
 * Integers throughout: utilisation in parts per million, power in µW.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../internal.h"

#define PPM 1000000ULL
/* Cloud Carbon Footprint memory coefficient, 0.392 W per GiB, in µW */
#define DRAM_UW_PER_GIB 392000ULL
/* cpuinfo of a large machine is ~2 KiB per CPU; refuse beyond this */
#define CPUINFO_MAX (4u << 20)

/* Teads / Boavizta load curve: utilisation (ppm) -> fraction of TDP (per
 * mille). */
static const struct {
	uint32_t util_ppm;
	uint32_t tdp_permille;
} load_curve[] = {
        {0, 120},
        {100000, 320},
        {500000, 750},
        {1000000, 1020},
};

struct est_state {
	int procfs_fd; /* dup of the procfs root, for meminfo; -1 */
	bool use_tdp;
	const struct jpu_vcpu_row *vcpu;
	unsigned ncpu;
	const struct jpu_tdp_row *tdp;
	unsigned sockets;
	uint64_t mem_limit_bytes; /* opts->mem_bytes override, 0 = none */
	uint64_t last_util_ppm;
	char basis[192];
};

/* ---- parsers ------------------------------------------------------------ */

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Whether the space-separated word list [p, end) contains `word`. */
static bool has_word(const char *p, const char *end, const char *word)
{
	size_t wl = strlen(word);

	while (p < end) {
		const char *e;

		p = skip_blank(p, end);
		e = p;
		while (e < end && *e != ' ' && *e != '\t')
			e++;
		if ((size_t)(e - p) == wl && memcmp(p, word, wl) == 0)
			return true;
		p = e;
	}
	return false;
}

/* "0x41" or "65" */
static int parse_num(const char *p, size_t len, unsigned *ret)
{
	uint64_t v = 0;

	if (len > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		if (len > 10)
			return -ERANGE;
		for (size_t i = 2; i < len; i++) {
			int c = tolower((unsigned char)p[i]);

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned)(c - 'a' + 10);
			else
				return -EINVAL;
		}
	} else if (jpu_parse_u64(p, len, &v) < 0 || v > UINT32_MAX) {
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

int jpu_parse_cpuinfo(const char *buf, size_t len, struct jpu_cpuinfo *ret)
{
	struct jpu_cpuinfo ci = {0};
	const char *p = buf, *end = buf + len;
	uint64_t socket_seen[4] = {0}; /* physical ids 0..255 */

	if (memchr(buf, '\0', len))
		return -EINVAL; /* binary garbage */
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *colon, *kend, *v, *vend;
		size_t klen;

		if (!eol)
			eol = end;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon) {
			/* blank lines separate processors; anything else is
			 * not cpuinfo */
			if (skip_blank(p, eol) != eol)
				return -EINVAL;
			p = eol + 1;
			continue;
		}
		kend = colon;
		while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
			kend--;
		klen = (size_t)(kend - p);
		v = skip_blank(colon + 1, eol);
		vend = eol;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r'))
			vend--;

#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(p, k, klen) == 0)
		if (KEY_IS("processor")) {
			unsigned n;

			if (parse_num(v, (size_t)(vend - v), &n) < 0)
				return -EINVAL;
			if (ci.nproc == UINT32_MAX)
				return -ERANGE;
			ci.nproc++;
		} else if (KEY_IS("model name") && ci.model[0] == '\0') {
			size_t n = (size_t)(vend - v);

			if (n >= sizeof ci.model)
				n = sizeof ci.model - 1;
			memcpy(ci.model, v, n);
			ci.model[n] = '\0';
		} else if (KEY_IS("physical id")) {
			unsigned id;

			if (parse_num(v, (size_t)(vend - v), &id) < 0)
				return -EINVAL;
			if (id < 256 && !(socket_seen[id / 64] & (1ULL << (id % 64)))) {
				socket_seen[id / 64] |= 1ULL << (id % 64);
				ci.sockets++;
			}
		} else if (KEY_IS("flags")) {
			if (has_word(v, vend, "hypervisor"))
				ci.hypervisor = true;
		} else if (KEY_IS("CPU implementer")) {
			if (parse_num(v, (size_t)(vend - v), &ci.arm_implementer) < 0)
				return -EINVAL;
		} else if (KEY_IS("CPU part")) {
			if (parse_num(v, (size_t)(vend - v), &ci.arm_part) < 0)
				return -EINVAL;
		}
#undef KEY_IS
		p = eol + 1;
	}
	if (ci.nproc == 0)
		return -EINVAL;
	*ret = ci;
	return 0;
}

int jpu_estimate_parse_meminfo(const char *buf, size_t len, uint64_t *ret_total,
                               uint64_t *ret_avail)
{
	const char *p = buf, *end = buf + len;
	uint64_t total = 0, avail = 0;
	bool have_total = false, have_avail = false;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *colon, *q;
		uint64_t *dst = NULL;
		uint64_t kb;

		if (!eol)
			eol = end;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon && colon - p == 8 && memcmp(p, "MemTotal", 8) == 0) {
			dst = &total;
			have_total = true;
		} else if (colon && colon - p == 12 && memcmp(p, "MemAvailable", 12) == 0) {
			dst = &avail;
			have_avail = true;
		}
		if (dst) {
			/* "MemTotal:       16318372 kB" */
			q = colon + 1;
			if (jpu_next_u64(&q, eol, &kb) < 0)
				return -EINVAL;
			q = skip_blank(q, eol);
			if (eol - q != 2 || memcmp(q, "kB", 2) != 0)
				return -EINVAL;
			if (kb > UINT64_MAX / 1024)
				return -ERANGE;
			*dst = kb * 1024;
		}
		p = eol + 1;
	}
	if (!have_total || !have_avail || avail > total)
		return -EINVAL;
	*ret_total = total;
	*ret_avail = avail;
	return 0;
}

/* ---- which model -------------------------------------------------------- */

/* The first run of digits/letters after `prefix` in s (lowercase), as a
 * pointer into s, or NULL. */
static const char *after(const char *s, const char *prefix)
{
	const char *p = strstr(s, prefix);

	return p ? p + strlen(prefix) : NULL;
}

const char *jpu_estimate_guess_arch(const struct jpu_cpuinfo *ci)
{
	char m[sizeof ci->model];
	const char *p;
	size_t i;

	/* Arm Neoverse N1 (implementer 0x41, part 0xd0c) is AWS Graviton2's
	 * core (Arm, "Neoverse N1 TRM", MIDR part number) */
	if (ci->arm_implementer == 0x41 && ci->arm_part == 0xd0c)
		return "aws_graviton_2";
	for (i = 0; ci->model[i] && i < sizeof m - 1; i++)
		m[i] = (char)tolower((unsigned char)ci->model[i]);
	m[i] = '\0';

	/* AMD EPYC model numbers: the last digit is the generation
	 * (7xx1 Naples, 7xx2 Rome, 7xx3 Milan...) */
	if ((p = after(m, "epyc ")) && strlen(p) >= 4 && p[0] == '7') {
		if (p[3] == '1')
			return "amd_epyc_1st_gen";
		if (p[3] == '2')
			return "amd_epyc_2nd_gen";
		return "average";
	}
	/* Xeon Scalable: the second digit is the generation (81xx/61xx
	 * Skylake-SP, 82xx/62xx Cascade Lake) */
	if ((p = after(m, "platinum ")) || (p = after(m, "gold ")) || (p = after(m, "silver ")) ||
	    (p = after(m, "bronze "))) {
		if (isdigit((unsigned char)p[0]) && p[1] == '1')
			return "skylake";
		if (isdigit((unsigned char)p[0]) && p[1] == '2')
			return "cascade_lake";
		return "average";
	}
	/* Xeon E3/E5/E7: the "vN" suffix is the generation */
	if (strstr(m, "xeon") && (strstr(m, "e5-") || strstr(m, "e7-") || strstr(m, "e3-"))) {
		if (strstr(m, " v6") || strstr(m, " v5"))
			return "skylake";
		if (strstr(m, " v4"))
			return "broadwell";
		if (strstr(m, " v3"))
			return "haswell";
		if (strstr(m, " v2"))
			return "ivy_bridge";
		return "sandy_bridge";
	}
	/* Core iN-GXXX with a 4-digit number: G is the generation */
	if (strstr(m, "core") && ((p = strstr(m, "i3-")) || (p = strstr(m, "i5-")) ||
	                          (p = strstr(m, "i7-")) || (p = strstr(m, "i9-")))) {
		p += 3;
		/* digit by digit: the && stops at the terminating NUL */
		if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) &&
		    !isdigit((unsigned char)p[4])) {
			switch (p[0]) {
			case '2':
				return "sandy_bridge";
			case '3':
				return "ivy_bridge";
			case '4':
				return "haswell";
			case '5':
				return "broadwell";
			case '6':
			case '7':
				return "skylake";
			case '8':
			case '9':
				return "coffee_lake";
			default:
				break;
			}
		}
	}
	return "average";
}

static const struct jpu_vcpu_row *vcpu_row(const char *arch)
{
	for (size_t i = 0; i < jpu_vcpu_table_len; i++)
		if (strcmp(jpu_vcpu_table[i].arch, arch) == 0)
			return &jpu_vcpu_table[i];
	for (size_t i = 0; i < jpu_vcpu_table_len; i++)
		if (strcmp(jpu_vcpu_table[i].arch, "average") == 0)
			return &jpu_vcpu_table[i];
	return jpu_vcpu_table_len ? &jpu_vcpu_table[0] : NULL;
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && strncasecmp(w, s, n) == 0;
}

static bool is_ordinal(const char *w, size_t n)
{
	size_t d = 0;

	while (d < n && isdigit((unsigned char)w[d]))
		d++;
	return d > 0 && n - d == 2 &&
	       (word_is(w + d, 2, "th") || word_is(w + d, 2, "st") || word_is(w + d, 2, "nd") ||
	        word_is(w + d, 2, "rd"));
}

void jpu_estimate_tdp_name(const char *model, char *out, size_t size)
{
	char tmp[256];
	size_t t = 0, o = 0;
	const char *p;

	if (size == 0)
		return;
	/* drop the trade marks "(R)", "(TM)" */
	for (p = model; *p && t < sizeof tmp - 1;) {
		if (strncasecmp(p, "(r)", 3) == 0) {
			p += 3;
		} else if (strncasecmp(p, "(tm)", 4) == 0) {
			p += 4;
		} else {
			tmp[t++] = *p++;
		}
	}
	tmp[t] = '\0';

	/* then the words CodeCarbon's names do not have: "CPU", "Processor",
	 * "8-Core", "11th Gen", and everything from "@ 2.40GHz" or
	 * "with Radeon Graphics" on */
	p = tmp;
	while (*p) {
		const char *w, *next;
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		n = (size_t)(p - w);
		if (n == 0)
			break;
		if (w[0] == '@' || word_is(w, n, "with") || word_is(w, n, "w/"))
			break;
		if (word_is(w, n, "CPU") || word_is(w, n, "Processor"))
			continue;
		if (n > 5 && strncasecmp(w + n - 5, "-core", 5) == 0)
			continue;
		next = p;
		while (*next == ' ')
			next++;
		if (is_ordinal(w, n) && strncasecmp(next, "gen", 3) == 0 &&
		    (next[3] == ' ' || next[3] == '\0')) {
			p = next + 3;
			continue;
		}
		if (o + n + (o ? 1 : 0) >= size)
			break;
		if (o)
			out[o++] = ' ';
		memcpy(out + o, w, n);
		o += n;
	}
	out[o] = '\0';
}

const struct jpu_tdp_row *jpu_estimate_find_tdp(const char *model)
{
	char name[160];
	size_t lo = 0, hi = jpu_tdp_table_len;

	jpu_estimate_tdp_name(model, name, sizeof name);
	if (name[0] == '\0')
		return NULL;
	/* the table is sorted case-insensitively (data/gen_tables.py) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcasecmp(jpu_tdp_table[mid].name, name);

		if (c == 0)
			return &jpu_tdp_table[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- the backend -------------------------------------------------------- */

/* Read a whole procfs file: cpuinfo outgrows a page on big machines and
 * seq_file may hand it over in pieces, so read to EOF, bounded. */
static ssize_t read_whole(int dirfd, const char *path, char **ret)
{
	int fd = jpu_open_at(dirfd, path);
	size_t cap = 64 * 1024, len = 0;
	char *buf;
	ssize_t r = 0;

	if (fd < 0)
		return fd;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *nb;

			if (cap >= CPUINFO_MAX) {
				r = -EFBIG;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	return (ssize_t)len;
}

static void estimate_close(struct jpu_sensor *s)
{
	struct est_state *st = s->priv;

	jpu_sensor_free_domains(s);
	if (!st)
		return;
	if (st->procfs_fd >= 0)
		close(st->procfs_fd);
	free(st);
	s->priv = NULL;
}

__attribute__((format(printf, 5, 6))) static int est_fail(struct jpu_sensor *s,
                                                          struct jpu_diag *diag,
                                                          enum jpu_reason reason, int r,
                                                          const char *fmt, ...)
{
	va_list ap;

	snprintf(diag->sensor, sizeof diag->sensor, "estimate");
	diag->reason = reason;
	va_start(ap, fmt);
	vsnprintf(diag->message, sizeof diag->message, fmt, ap);
	va_end(ap);
	estimate_close(s);
	return r;
}

/* Watts from mW without trailing zeros: 3970 -> "3.97", 3500 -> "3.5",
 * 280000 -> "280" (integers: LC_NUMERIC cannot change the point) */
static void fmt_w(char *out, size_t size, uint32_t mw)
{
	size_t n;

	if (mw % 1000 == 0) {
		snprintf(out, size, "%u", mw / 1000);
		return;
	}
	snprintf(out, size, "%u.%03u", mw / 1000, mw % 1000);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
}

static int estimate_probe(struct jpu_sensor *s, const struct jpu_probe_opts *o,
                          struct jpu_diag *diag)
{
	struct jpu_cpuinfo ci = {0};
	struct est_state *st;
	struct jpu_domain *d;
	char *buf = NULL;
	ssize_t n;
	int r;

	st = calloc(1, sizeof *st);
	if (!st)
		return est_fail(s, diag, JPU_REASON_ERROR, -ENOMEM, "out of memory");
	st->procfs_fd = -1;
	s->priv = st;

	n = read_whole(o->procfs_fd, "cpuinfo", &buf);
	if (n < 0 && !o->ncpu)
		return est_fail(s, diag, JPU_REASON_ABSENT, (int)n,
		                "cannot read cpuinfo in the procfs root: %s (set the vCPU count "
		                "to estimate without it)",
		                strerror((int)-n));
	r = n >= 0 ? jpu_parse_cpuinfo(buf, (size_t)n, &ci) : (int)n;
	free(buf);
	if (r < 0 && !o->ncpu)
		return est_fail(
		        s, diag, JPU_REASON_ERROR, -EINVAL,
		        "cpuinfo in the procfs root is not in the expected format (%s); set "
		        "the vCPU count to estimate without it",
		        strerror(-r));
	if (r < 0) {
		jpu_logf(s->log, JPU_LOG_WARNING,
		         "estimate: cpuinfo unusable (%s): per-vCPU average for %u vCPUs",
		         strerror(-r), o->ncpu);
		memset(&ci, 0, sizeof ci);
		ci.hypervisor = true;
	}
	st->ncpu = o->ncpu ? o->ncpu : ci.nproc;
	st->sockets = ci.sockets ? ci.sockets : 1;
	st->mem_limit_bytes = o->mem_bytes;
	st->tdp = ci.hypervisor ? NULL : jpu_estimate_find_tdp(ci.model);
	st->use_tdp = st->tdp != NULL;
	st->vcpu = vcpu_row(jpu_estimate_guess_arch(&ci));
	if (!st->use_tdp && !st->vcpu)
		return est_fail(s, diag, JPU_REASON_UNSUPPORTED, -EOPNOTSUPP,
		                "the per-vCPU power table is empty");
	if (st->use_tdp) {
		char w[16];

		fmt_w(w, sizeof w, st->tdp->tdp_mw);
		snprintf(st->basis, sizeof st->basis, "TDP %s W (%s) x %u socket%s", w,
		         st->tdp->name, st->sockets, st->sockets == 1 ? "" : "s");
	} else {
		char lo[16], hi[16];

		fmt_w(lo, sizeof lo, st->vcpu->min_mw);
		fmt_w(hi, sizeof hi, st->vcpu->max_mw);
		snprintf(st->basis, sizeof st->basis, "per-vCPU %s %s-%s W x %u vCPU",
		         st->vcpu->arch, lo, hi, st->ncpu);
	}
	/* meminfo is the fallback when the engine gives no memory figures */
	st->procfs_fd = fcntl(o->procfs_fd, F_DUPFD_CLOEXEC, 3);
	if (st->procfs_fd < 0)
		jpu_logf(s->log, JPU_LOG_DEBUG, "estimate: no procfs root to read meminfo from");

	d = jpu_sensor_add_domain(s);
	if (!d)
		return est_fail(s, diag, JPU_REASON_ERROR, -ENOMEM, "out of memory");
	d->kind = JPU_DOM_PACKAGE;
	d->has_power = true;
	snprintf(d->name, sizeof d->name, "estimated-cpu");
	snprintf(d->id, sizeof d->id, "estimate:cpu");
	d = jpu_sensor_add_domain(s);
	if (!d)
		return est_fail(s, diag, JPU_REASON_ERROR, -ENOMEM, "out of memory");
	d->kind = JPU_DOM_DRAM;
	d->has_power = true;
	snprintf(d->name, sizeof d->name, "estimated-dram");
	snprintf(d->id, sizeof d->id, "estimate:dram");
	jpu_logf(s->log, JPU_LOG_INFO, "estimate: %s", st->basis);
	return (int)s->n_domains;
}

/* Linear interpolation on the load curve, µW for one socket. */
static uint64_t tdp_power_uw(uint32_t tdp_mw, uint64_t util_ppm)
{
	size_t i = 1;
	uint64_t x0, x1, y0, y1, permille_x1000;

	while (i < JPU_ARRAY_SIZE(load_curve) - 1 && util_ppm > load_curve[i].util_ppm)
		i++;
	x0 = load_curve[i - 1].util_ppm;
	x1 = load_curve[i].util_ppm;
	y0 = load_curve[i - 1].tdp_permille;
	y1 = load_curve[i].tdp_permille;
	/* per mille x 1000 to keep the interpolation's precision */
	permille_x1000 = y0 * 1000 + (y1 - y0) * 1000 * (util_ppm - x0) / (x1 - x0);
	/* tdp_mw x 1000 (µW) x permille / 1000 */
	return (uint64_t)tdp_mw * permille_x1000 / 1000;
}

static int estimate_read(struct jpu_sensor *s, const struct jpu_sense_ctx *ctx)
{
	struct est_state *st = s->priv;
	struct jpu_domain *cpu, *dram;
	uint64_t util = 0, used = 0;
	bool have_mem = false;

	if (!st || s->n_domains < 2)
		return -EBADF;
	cpu = &s->domains[0];
	dram = &s->domains[1];
	if (ctx && ctx->host_delta) {
		const struct jpu_host_cpu *h = ctx->host_delta;

		if (h->all_ticks > 0) {
			uint64_t busy = h->busy_ticks < h->all_ticks ? h->busy_ticks : h->all_ticks;

			/* busy * 1e6 fits while busy < 1.8e13 ticks
			 * (5.8 years of 100 Hz ticks on 1000 CPUs) */
			if (busy > UINT64_MAX / PPM)
				util = busy / (h->all_ticks / PPM);
			else
				util = busy * PPM / h->all_ticks;
			if (util > PPM)
				util = PPM;
			st->last_util_ppm = util;
		} else {
			/* a zero-length interval: keep the last utilisation */
			util = st->last_util_ppm;
		}
	}
	if (st->use_tdp) {
		cpu->power_uw = tdp_power_uw(st->tdp->tdp_mw, util) * st->sockets;
	} else {
		uint64_t min_uw = (uint64_t)st->vcpu->min_mw * 1000;
		uint64_t max_uw = (uint64_t)st->vcpu->max_mw * 1000;
		uint64_t span = max_uw > min_uw ? max_uw - min_uw : 0;

		cpu->power_uw = (min_uw + span * util / PPM) * st->ncpu;
	}
	cpu->valid = true;

	if (ctx && ctx->mem_total_bytes > 0) {
		used = ctx->mem_used_bytes;
		have_mem = true;
	} else if (st->procfs_fd >= 0) {
		char buf[8192];
		ssize_t n = jpu_read_at(st->procfs_fd, "meminfo", buf, sizeof buf);
		uint64_t total, avail;

		if (n >= 0 && jpu_estimate_parse_meminfo(buf, (size_t)n, &total, &avail) == 0) {
			used = total - avail;
			have_mem = true;
		}
	}
	/* a container's memory limit caps what it can hold */
	if (have_mem && st->mem_limit_bytes && used > st->mem_limit_bytes)
		used = st->mem_limit_bytes;
	dram->valid = have_mem;
	/* MiB granularity keeps the product in 64 bits up to 40 PiB */
	dram->power_uw = have_mem ? (used >> 20) * DRAM_UW_PER_GIB / 1024 : 0;
	return 0;
}

const char *jpu_estimate_basis(const struct jpu_sensor *s)
{
	const struct est_state *st;

	if (!s || s->ops != &jpu_sensor_estimate || !s->priv)
		return NULL;
	st = s->priv;
	return st->basis;
}

const struct jpu_sensor_ops jpu_sensor_estimate = {
        .name = "estimate",
        .source = JPU_SRC_ESTIMATE,
        .probe = estimate_probe,
        .read = estimate_read,
        .close = estimate_close,
};
