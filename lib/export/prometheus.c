/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prometheus text exposition format 0.0.4 from the metric table: base
 * units, HELP and TYPE once per name, label values escaped, absent parts
 * omitted (unknown is not zero), tracked trees as their own series.
 */
#include <math.h>
#include <stdlib.h>
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

/* The label set a record's series start with: scope="..." for the sample
 * (and an added scope's key and labels), tag="..." for a tracked tree. */
typedef void (*label_fn)(struct jpu_buf *b, const void *rec, const void *ctx);

static void write_row(struct jpu_buf *b, const struct jpu_metric *m, const void *rec,
                      label_fn label, const void *ctx)
{
	const char *base = rec;

	if (m->present_off >= 0 && !*(const bool *)(base + m->present_off))
		return;
	if (m->limit_flag_off >= 0 && !*(const bool *)(base + m->limit_flag_off))
		return;
	jpu_buf_printf(b, "%s{", m->prom_name);
	label(b, rec, ctx);
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

/* Every Prometheus row of a table for `count` records (recs[r], each
 * labelled by label(b, recs[r], ctxs[r])): HELP and TYPE once per name,
 * then that name's rows of every record, as the format asks. */
static void write_table(struct jpu_buf *b, const struct jpu_metric *rows, size_t n,
                        const void *const *recs, const void *const *ctxs, size_t count,
                        label_fn label)
{
	for (size_t i = 0; i < n; i++) {
		const struct jpu_metric *m = &rows[i];
		bool seen = false;

		if (!m->prom_name)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = rows[k].prom_name && strcmp(rows[k].prom_name, m->prom_name) == 0;
		if (seen)
			continue;
		header(b, m->prom_name, m->prom_type, m->prom_help ? m->prom_help : "");
		for (size_t r = 0; r < count; r++)
			for (size_t k = i; k < n; k++)
				if (rows[k].prom_name &&
				    strcmp(rows[k].prom_name, m->prom_name) == 0)
					write_row(b, &rows[k], recs[r], label, ctxs[r]);
	}
}

/* The engine's own scope (ctx NULL) or an added one (ctx its entry):
 * scope="user|process|cgroup", key="..." and the caller's labels. */
static void scope_label(struct jpu_buf *b, const void *rec, const void *ctx)
{
	const struct jpu_snapshot *s = rec;
	const struct jpu_xscope *x = ctx;

	jpu_buf_printf(b, "scope=\"%s\"", jpu_scope_to_string(s->scope));
	if (!x)
		return;
	jpu_buf_puts(b, ",key=\"");
	label_value(b, x->key);
	jpu_buf_puts(b, "\"");
	for (size_t i = 0; i < JPU_SCOPE_LABELS_MAX; i++) {
		if (!x->labels[i][0])
			continue;
		jpu_buf_printf(b, ",%s=\"", x->labels[i][0]);
		label_value(b, x->labels[i][1]);
		jpu_buf_puts(b, "\"");
	}
}

static void tag_label(struct jpu_buf *b, const void *rec, const void *ctx)
{
	(void)ctx;
	jpu_buf_puts(b, "tag=\"");
	label_value(b, ((const struct jpu_tracked *)rec)->tag);
	jpu_buf_puts(b, "\"");
}

static void zone_label(struct jpu_buf *b, const void *rec, const void *ctx)
{
	const struct jpu_zone_rec *z = rec;

	(void)ctx;
	jpu_buf_puts(b, z->gpu ? "device=\"" : "zone=\"");
	label_value(b, z->name);
	if (!z->gpu)
		jpu_buf_printf(b, "\",kind=\"%s", z->kind);
	jpu_buf_puts(b, "\",id=\"");
	label_value(b, z->id);
	jpu_buf_printf(b, "\",source=\"%s\"", z->source);
}

/* The node's zones and GPU devices, each kind of record in its families. */
static void write_zones(struct jpu_buf *b, const struct jpu_engine *e, const void **recs,
                        const void **ctxs)
{
	for (int gpu = 0; gpu < 2; gpu++) {
		size_t n = 0;

		for (size_t i = 0; i < e->n_zones; i++)
			if (e->zones[i].gpu == (gpu == 1)) {
				recs[n] = &e->zones[i];
				ctxs[n++] = NULL;
			}
		if (n)
			write_table(b, gpu ? jpu_device_metrics : jpu_zone_metrics,
			            gpu ? jpu_device_metrics_len : jpu_zone_metrics_len, recs, ctxs,
			            n, zone_label);
	}
}

void jpu_prom_write(struct jpu_buf *b, const struct jpu_engine *e, const struct jpu_snapshot *s)
{
	const void **recs = NULL, **ctxs = NULL;
	size_t n = 1;

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
	/* the engine's scope, then every added scope that asked for its
	 * series and has a sample, in one family per name */
	recs = malloc((1 + e->n_xscopes + e->n_tracked + e->n_zones) * sizeof *recs);
	ctxs = malloc((1 + e->n_xscopes + e->n_tracked + e->n_zones) * sizeof *ctxs);
	if (!recs || !ctxs) {
		b->oom = true;
		goto out;
	}
	recs[0] = s;
	ctxs[0] = NULL;
	for (size_t i = 0; i < e->n_xscopes; i++) {
		const struct jpu_xscope *x = e->xscopes[i];

		if (x->live && x->prometheus && x->snap.seq > 0) {
			recs[n] = &x->snap;
			ctxs[n++] = x;
		}
	}
	write_table(b, jpu_metrics, jpu_metrics_len, recs, ctxs, n, scope_label);
	write_zones(b, e, recs, ctxs);
	if (e->n_tracked) {
		for (size_t i = 0; i < e->n_tracked; i++) {
			recs[i] = &e->tracked[i];
			ctxs[i] = NULL;
		}
		write_table(b, jpu_tracked_metrics, jpu_tracked_metrics_len, recs, ctxs,
		            e->n_tracked, tag_label);
	}
out:
	free(recs);
	free(ctxs);
}
