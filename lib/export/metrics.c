/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The metric tables (STYLE rule 17): every figure of a sample, of a history
 * entry and of a tracked tree once, with its JSON place and its Prometheus
 * name, type, unit and help. Both writers walk them, so the JSON and
 * /metrics cannot disagree. Rows that share a
 * Prometheus name are adjacent: the writer emits HELP/TYPE once per name.
 * Also the small growable buffer the writers print into.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine.h"

#define OFF(f)  offsetof(struct jpu_snapshot, f)
#define NO_FLAG ((ssize_t)-1)

const struct jpu_metric jpu_metrics[] = {
        {"cpu", "usage", "jpu_cpu_power_watts", "gauge",
         "CPU power (packages and DRAM) by kind: usage = attributed to the scope, total = whole "
         "machine, idle = idle power not attributed",
         "kind=\"usage\"", JPU_UNIT_MICRO, OFF(cpu.usage_uw), OFF(cpu.present), NO_FLAG},
        {"cpu", "limit", "jpu_cpu_power_limit_watts", "gauge",
         "Enforced power limit of the CPU packages", NULL, JPU_UNIT_MICRO, OFF(cpu.limit_uw),
         OFF(cpu.present), OFF(cpu.has_limit)},
        {"cpu", "total", "jpu_cpu_power_watts", "gauge", NULL, "kind=\"total\"", JPU_UNIT_MICRO,
         OFF(cpu.total_uw), OFF(cpu.present), NO_FLAG},
        {"cpu", "idle", "jpu_cpu_power_watts", "gauge", NULL, "kind=\"idle\"", JPU_UNIT_MICRO,
         OFF(cpu.idle_uw), OFF(cpu.present), NO_FLAG},
        {"cpu", "share", "jpu_cpu_busy_share_ratio", "gauge",
         "Share of the host's busy CPU time used by the scope", NULL, JPU_UNIT_RATIO, OFF(share),
         OFF(cpu.present), NO_FLAG},
        {"dram", "usage", "jpu_dram_power_watts", "gauge",
         "DRAM power by kind: usage = attributed to the scope by memory share, total = machine",
         "kind=\"usage\"", JPU_UNIT_MICRO, OFF(dram.usage_uw), OFF(dram.present), NO_FLAG},
        {"dram", "total", "jpu_dram_power_watts", "gauge", NULL, "kind=\"total\"", JPU_UNIT_MICRO,
         OFF(dram.total_uw), OFF(dram.present), NO_FLAG},
        {"psys", "total", "jpu_psys_power_watts", "gauge",
         "Platform (psys) power: the whole SoC, never added to the packages", NULL, JPU_UNIT_MICRO,
         OFF(psys.total_uw), OFF(psys.present), NO_FLAG},
        {"gpu", "usage", "jpu_gpu_power_watts", "gauge",
         "GPU power by kind: usage = attributed to the scope, total = all devices",
         "kind=\"usage\"", JPU_UNIT_MICRO, OFF(gpu.usage_uw), OFF(gpu.present), NO_FLAG},
        {"gpu", "limit", "jpu_gpu_power_limit_watts", "gauge", "Enforced power limit of the GPUs",
         NULL, JPU_UNIT_MICRO, OFF(gpu.limit_uw), OFF(gpu.present), OFF(gpu.has_limit)},
        {"gpu", "total", "jpu_gpu_power_watts", "gauge", NULL, "kind=\"total\"", JPU_UNIT_MICRO,
         OFF(gpu.total_uw), OFF(gpu.present), NO_FLAG},
        {"gpu", "idle", "jpu_gpu_power_watts", "gauge", NULL, "kind=\"idle\"", JPU_UNIT_MICRO,
         OFF(gpu.idle_uw), OFF(gpu.present), NO_FLAG},
        {"energy_j", "cpu", "jpu_energy_joules_total", "counter",
         "Energy used by the scope since the engine started (or since its state file began)",
         "part=\"cpu\"", JPU_UNIT_MICRO, OFF(energy.cpu_uj), OFF(has_cpu_sensor), NO_FLAG},
        {"energy_j", "dram", "jpu_energy_joules_total", "counter", NULL, "part=\"dram\"",
         JPU_UNIT_MICRO, OFF(energy.dram_uj), OFF(has_dram_sensor), NO_FLAG},
        {"energy_j", "gpu", "jpu_energy_joules_total", "counter", NULL, "part=\"gpu\"",
         JPU_UNIT_MICRO, OFF(energy.gpu_uj), OFF(has_gpu_sensor), NO_FLAG},
        {"energy_j", "total", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, OFF(energy_total_uj), NO_FLAG,
         NO_FLAG},
        {"emissions", "g", "jpu_emissions_grams_total", "counter",
         "CO2-equivalent emitted by the scope's energy, integrated sample by sample with the grid "
         "intensity valid then, times the PUE",
         NULL, JPU_UNIT_MICRO, OFF(co2_ug), OFF(has_emissions), NO_FLAG},
        {"emissions", "intensity_g_per_kwh", "jpu_grid_intensity_grams_per_kwh", "gauge",
         "Carbon intensity of the electricity in force for the last sample (source, zone and basis "
         "in the JSON sample)",
         NULL, JPU_UNIT_MILLI, OFF(intensity_mg), OFF(has_emissions), NO_FLAG},
};
const size_t jpu_metrics_len = JPU_ARRAY_SIZE(jpu_metrics);

/* A history entry (jpu_engine_history_json): figures of the scope, flat. */
#define HOFF(f) offsetof(struct jpu_hist, f)
const struct jpu_metric jpu_hist_metrics[] = {
        {NULL, "t", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, HOFF(t_real_usec), NO_FLAG, NO_FLAG},
        {NULL, "cpu", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, HOFF(cpu_uw), HOFF(has_cpu), NO_FLAG},
        {NULL, "cpu_total", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, HOFF(cpu_total_uw),
         HOFF(has_cpu), NO_FLAG},
        {NULL, "dram", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, HOFF(dram_uw), HOFF(has_dram),
         NO_FLAG},
        {NULL, "gpu", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, HOFF(gpu_uw), HOFF(has_gpu), NO_FLAG},
        {NULL, "energy_j", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, HOFF(energy_uj), NO_FLAG,
         NO_FLAG},
        {NULL, "emissions_g", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, HOFF(co2_ug),
         HOFF(has_emissions), NO_FLAG},
        {NULL, "intensity_g_per_kwh", NULL, NULL, NULL, NULL, JPU_UNIT_MILLI, HOFF(intensity_mg),
         HOFF(has_emissions), NO_FLAG},
};
const size_t jpu_hist_metrics_len = JPU_ARRAY_SIZE(jpu_hist_metrics);

/* A tracked tree (jpu_tracked_json, and its Prometheus series labelled by
 * tag). */
#define TOFF(f) offsetof(struct jpu_tracked, f)
const struct jpu_metric jpu_tracked_metrics[] = {
        {NULL, "power_w", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, TOFF(power_uw), NO_FLAG, NO_FLAG},
        {"energy_j", "cpu", "jpu_tracked_energy_joules_total", "counter",
         "Energy used by each tracked process tree (one per Jupyter kernel)", "part=\"cpu\"",
         JPU_UNIT_MICRO, TOFF(energy.cpu_uj), NO_FLAG, NO_FLAG},
        {"energy_j", "dram", "jpu_tracked_energy_joules_total", "counter", NULL, "part=\"dram\"",
         JPU_UNIT_MICRO, TOFF(energy.dram_uj), NO_FLAG, NO_FLAG},
        {"energy_j", "gpu", "jpu_tracked_energy_joules_total", "counter", NULL, "part=\"gpu\"",
         JPU_UNIT_MICRO, TOFF(energy.gpu_uj), NO_FLAG, NO_FLAG},
        {"energy_j", "total", NULL, NULL, NULL, NULL, JPU_UNIT_MICRO, TOFF(energy_total_uj),
         NO_FLAG, NO_FLAG},
        {NULL, "emissions_g", "jpu_tracked_emissions_grams_total", "counter",
         "CO2-equivalent emitted by each tracked process tree", NULL, JPU_UNIT_MICRO,
         TOFF(co2.co2_ug), NO_FLAG, NO_FLAG},
};
const size_t jpu_tracked_metrics_len = JPU_ARRAY_SIZE(jpu_tracked_metrics);

static void buf_grow(struct jpu_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->oom || b->len + need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + need + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->data = p;
	b->cap = cap;
}

void jpu_buf_putn(struct jpu_buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void jpu_buf_puts(struct jpu_buf *b, const char *s)
{
	jpu_buf_putn(b, s, strlen(s));
}

void jpu_buf_printf(struct jpu_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	buf_grow(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void jpu_buf_json_str(struct jpu_buf *b, const char *s)
{
	jpu_buf_puts(b, "\"");
	while (*s) {
		/* copy runs that need no escape in one go: this runs per request */
		size_t run = 0;

		while (s[run] && s[run] != '"' && s[run] != '\\' && (unsigned char)s[run] >= 0x20)
			run++;
		jpu_buf_putn(b, s, run);
		s += run;
		if (!*s)
			break;
		if (*s == '"' || *s == '\\')
			jpu_buf_printf(b, "\\%c", *s);
		else
			jpu_buf_printf(b, "\\u%04x", (unsigned char)*s);
		s++;
	}
	jpu_buf_puts(b, "\"");
}

/* integers only: LC_NUMERIC cannot turn the point into a comma */
void jpu_buf_micro(struct jpu_buf *b, uint64_t v)
{
	/* coarsened on purpose (jpu_engine_opts.resolution_micro), to the
	 * nearest step */
	if (b->resolution > 1)
		v = (v / b->resolution + (v % b->resolution >= b->resolution / 2)) * b->resolution;
	jpu_buf_printf(b, "%llu.%06llu", (unsigned long long)(v / 1000000),
	               (unsigned long long)(v % 1000000));
}

void jpu_buf_iso_time(struct jpu_buf *b, uint64_t t_usec)
{
	time_t sec = (time_t)(t_usec / 1000000);
	struct tm tm;

	if (!gmtime_r(&sec, &tm)) {
		jpu_buf_puts(b, "null");
		return;
	}
	jpu_buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"", tm.tm_year + 1900,
	               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	               (unsigned)(t_usec % 1000000 / 1000));
}

int jpu_buf_finish(struct jpu_buf *b, char **ret)
{
	if (b->oom || !b->data) {
		free(b->data);
		return -ENOMEM;
	}
	*ret = b->data;
	return 0;
}

/* The node's own figures, one record per sensor domain (struct
 * jpu_zone_rec): zones (labels zone, kind, source) and GPU devices
 * (labels device, source), whatever the scope. */
#define ZOFF(f) offsetof(struct jpu_zone_rec, f)
const struct jpu_metric jpu_zone_metrics[] = {
        {NULL, "power", "jpu_zone_power_watts", "gauge",
         "Power of each measured zone (package, DRAM, psys, core, uncore) of the node", NULL,
         JPU_UNIT_MICRO, ZOFF(power_uw), ZOFF(present), NO_FLAG},
        {NULL, "energy", "jpu_zone_energy_joules_total", "counter",
         "Energy of each measured zone of the node since the engine started", NULL, JPU_UNIT_MICRO,
         ZOFF(energy_uj), NO_FLAG, NO_FLAG},
};
const size_t jpu_zone_metrics_len = JPU_ARRAY_SIZE(jpu_zone_metrics);

const struct jpu_metric jpu_device_metrics[] = {
        {NULL, "power", "jpu_gpu_device_power_watts", "gauge",
         "Power of each GPU device of the node", NULL, JPU_UNIT_MICRO, ZOFF(power_uw),
         ZOFF(present), NO_FLAG},
        {NULL, "energy", "jpu_gpu_device_energy_joules_total", "counter",
         "Energy of each GPU device of the node since the engine started", NULL, JPU_UNIT_MICRO,
         ZOFF(energy_uj), NO_FLAG, NO_FLAG},
};
const size_t jpu_device_metrics_len = JPU_ARRAY_SIZE(jpu_device_metrics);
