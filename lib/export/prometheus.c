/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prometheus text exposition format 0.0.4 from the metric table: base
 * units, HELP and TYPE once per name, label values escaped, absent parts
 * omitted (unknown is not zero), tracked trees as their own series.
 */
#include <math.h>
#include <string.h>

#include "../engine.h"

/* Escape backslash, newline and (in label values) the double quote, as the
 * exposition format asks; runs that need none are copied whole. */
static void escaped(struct jpu_buf *b, const char *s, bool quote)
{
	while (*s) {
		size_t run = 0;

		while (s[run] && s[run] != '\\' && s[run] != '\n' && !(quote && s[run] == '"'))
			run++;
		jpu_buf_putn(b, s, run);
		s += run;
		if (!*s)
			break;
		jpu_buf_puts(b, *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : "\\\"");
		s++;
	}
}

static void label_value(struct jpu_buf *b, const char *s)
{
	escaped(b, s, true);
}

static void help_text(struct jpu_buf *b, const char *s)
{
	escaped(b, s, false);
}

static void header(struct jpu_buf *b, const char *name, const char *type, const char *help)
{
	jpu_buf_printf(b, "# HELP %s ", name);
	help_text(b, help);
	jpu_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void write_row(struct jpu_buf *b, const struct jpu_metric *m, const struct jpu_snapshot *s,
                      const char *scope)
{
	const char *base = (const char *)s;

	if (m->present_off >= 0 && !*(const bool *)(base + m->present_off))
		return;
	if (m->limit_flag_off >= 0 && !*(const bool *)(base + m->limit_flag_off))
		return;
	jpu_buf_printf(b, "%s{scope=\"%s\"", m->prom_name, scope);
	if (m->prom_label)
		jpu_buf_printf(b, ",%s", m->prom_label);
	jpu_buf_puts(b, "} ");
	if (m->unit == JPU_UNIT_MILLI) {
		uint64_t v = *(const uint64_t *)(base + m->value_off);

		jpu_buf_printf(b, "%llu.%03llu", (unsigned long long)(v / 1000),
		               (unsigned long long)(v % 1000));
	} else if (m->unit == JPU_UNIT_RATIO) {
		double v = *(const double *)(base + m->value_off);

		jpu_buf_micro(b, v > 0.0 ? (uint64_t)llround(v * 1e6) : 0);
	} else {
		jpu_buf_micro(b, *(const uint64_t *)(base + m->value_off));
	}
	jpu_buf_puts(b, "\n");
}

void jpu_prom_write(struct jpu_buf *b, const struct jpu_engine *e, const struct jpu_snapshot *s)
{
	const char *scope = jpu_scope_to_string(e->scope);

	header(b, "jpu_sensor_info", "gauge",
	       "Sensors the engine probed: 1 = in use, 0 = not used (reason label says why)");
	for (size_t i = 0; i < e->n_sensors; i++)
		jpu_buf_printf(b, "jpu_sensor_info{sensor=\"%s\",reason=\"none\"} 1\n",
		               e->sensors[i].ops->name);
	for (size_t i = 0; i < e->n_diags; i++) {
		jpu_buf_puts(b, "jpu_sensor_info{sensor=\"");
		label_value(b, e->diags[i].sensor);
		jpu_buf_printf(b, "\",reason=\"%s\"} 0\n", jpu_reason_name(e->diags[i].reason));
	}
	if (!s)
		return;

	/* one HELP/TYPE per name, then every row of that name */
	for (size_t i = 0; i < jpu_metrics_len; i++) {
		const struct jpu_metric *m = &jpu_metrics[i];
		bool seen = false;

		if (!m->prom_name)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = jpu_metrics[k].prom_name &&
			       strcmp(jpu_metrics[k].prom_name, m->prom_name) == 0;
		if (seen)
			continue;
		header(b, m->prom_name, m->prom_type, m->prom_help ? m->prom_help : "");
		for (size_t k = i; k < jpu_metrics_len; k++)
			if (jpu_metrics[k].prom_name &&
			    strcmp(jpu_metrics[k].prom_name, m->prom_name) == 0)
				write_row(b, &jpu_metrics[k], s, scope);
	}

	if (e->n_tracked) {
		header(b, "jpu_tracked_energy_joules_total", "counter",
		       "Energy used by each tracked process tree (one per Jupyter kernel)");
		for (size_t i = 0; i < e->n_tracked; i++) {
			const struct jpu_tracked *t = &e->tracked[i];
			static const char *const parts[] = {"cpu", "dram", "gpu"};
			const uint64_t v[] = {t->energy.cpu_uj, t->energy.dram_uj,
			                      t->energy.gpu_uj};

			for (size_t k = 0; k < 3; k++) {
				jpu_buf_puts(b, "jpu_tracked_energy_joules_total{tag=\"");
				label_value(b, t->tag);
				jpu_buf_printf(b, "\",part=\"%s\"} ", parts[k]);
				jpu_buf_micro(b, v[k]);
				jpu_buf_puts(b, "\n");
			}
		}
		header(b, "jpu_tracked_emissions_grams_total", "counter",
		       "CO2-equivalent emitted by each tracked process tree");
		for (size_t i = 0; i < e->n_tracked; i++) {
			jpu_buf_puts(b, "jpu_tracked_emissions_grams_total{tag=\"");
			label_value(b, e->tracked[i].tag);
			jpu_buf_puts(b, "\"} ");
			jpu_buf_micro(b, e->tracked[i].co2.co2_ug);
			jpu_buf_puts(b, "\n");
		}
	}
}
