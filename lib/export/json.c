/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON sample of DESIGN section 3, written from the metric table plus
 * the non-numeric fields of each part (source, devices, diagnostics).
 * A part with no data is left out, never written as 0.
 */
#include <math.h>
#include <string.h>

#include "../engine.h"

static const void *at(const void *s, size_t off)
{
	return (const char *)s + off;
}

static bool flag(const void *s, ssize_t off)
{
	return off < 0 || *(const bool *)at(s, (size_t)off);
}

/* a value in thousandths printed from integers: 47000 -> 47.000 */
static void buf_milli(struct jpu_buf *b, uint64_t v)
{
	jpu_buf_printf(b, "%llu.%03llu", (unsigned long long)(v / 1000),
	               (unsigned long long)(v % 1000));
}

static void write_value(struct jpu_buf *b, const struct jpu_metric *m, const void *s)
{
	if (m->unit == JPU_UNIT_MILLI) {
		buf_milli(b, *(const uint64_t *)at(s, m->value_off));
		return;
	}
	if (m->unit == JPU_UNIT_RATIO) {
		/* 0..1 with 6 decimals, printed from an integer */
		double v = *(const double *)at(s, m->value_off);
		uint64_t micro = v > 0.0 ? (uint64_t)llround(v * 1e6) : 0;

		jpu_buf_micro(b, micro);
		return;
	}
	jpu_buf_micro(b, *(const uint64_t *)at(s, m->value_off));
}

static const struct jpu_part *part_of(const struct jpu_snapshot *s, const char *obj)
{
	if (strcmp(obj, "cpu") == 0)
		return &s->cpu;
	if (strcmp(obj, "dram") == 0)
		return &s->dram;
	if (strcmp(obj, "psys") == 0)
		return &s->psys;
	if (strcmp(obj, "gpu") == 0)
		return &s->gpu;
	return NULL;
}

/* The strings and arrays that follow an object's numbers in the sample. */
static void write_extras(struct jpu_buf *b, const char *obj, const void *ctx)
{
	const struct jpu_snapshot *s = ctx;
	const struct jpu_part *p = part_of(s, obj);

	if (strcmp(obj, "emissions") == 0) {
		/* every intensity says where, when and on what basis */
		jpu_buf_puts(b, ",\"source\":");
		jpu_buf_json_str(b, s->intensity.source);
		jpu_buf_puts(b, ",\"zone\":");
		jpu_buf_json_str(b, s->intensity.zone);
		jpu_buf_puts(b, ",\"basis\":");
		jpu_buf_json_str(b, s->intensity.basis);
		jpu_buf_puts(b, ",\"time\":");
		if (s->intensity.data_t_usec)
			jpu_buf_iso_time(b, s->intensity.data_t_usec);
		else
			jpu_buf_puts(b, "null");
		jpu_buf_printf(b, ",\"stale\":%s,\"estimated\":%s,\"pue\":",
		               s->intensity.stale ? "true" : "false",
		               s->intensity.estimated ? "true" : "false");
		buf_milli(b, s->pue_milli);
		return;
	}

	if (!p)
		return;
	jpu_buf_puts(b, ",\"source\":");
	jpu_buf_json_str(b, jpu_source_name(p->source));
	if (p->source == JPU_SRC_ESTIMATE) {
		jpu_buf_puts(b, ",\"estimated\":true");
		if (strcmp(obj, "dram") == 0) {
			/* Cloud Carbon Footprint's memory coefficient */
			jpu_buf_puts(b, ",\"basis\":\"0.392 W per GB of memory in use\"");
		} else if (s->basis[0]) {
			jpu_buf_puts(b, ",\"basis\":");
			jpu_buf_json_str(b, s->basis);
		}
	}
	if (strcmp(obj, "gpu") == 0) {
		jpu_buf_puts(b, ",\"attribution\":");
		jpu_buf_json_str(b, s->scope == JPU_SCOPE_SYSTEM ? "system"
		                    : p->whole_device            ? "whole_device"
		                                                 : "per_process");
		jpu_buf_puts(b, ",\"devices\":[");
		for (unsigned i = 0; i < s->n_gpus; i++) {
			const struct jpu_gpu_dev *g = &s->gpus[i];

			jpu_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
			jpu_buf_json_str(b, g->name);
			jpu_buf_puts(b, ",\"source\":");
			jpu_buf_json_str(b, jpu_source_name(g->source));
			if (g->whole_device)
				jpu_buf_puts(b, ",\"attribution\":\"whole_device\"");
			jpu_buf_puts(b, ",\"usage\":");
			jpu_buf_micro(b, g->usage_uw);
			jpu_buf_puts(b, ",\"total\":");
			jpu_buf_micro(b, g->total_uw);
			jpu_buf_puts(b, ",\"limit\":");
			if (g->has_limit)
				jpu_buf_micro(b, g->limit_uw);
			else
				jpu_buf_puts(b, "null");
			jpu_buf_puts(b, "}");
		}
		jpu_buf_puts(b, "]");
	}
}

void jpu_json_rows(struct jpu_buf *b, const struct jpu_metric *rows, size_t n, const void *base,
                   void (*extras)(struct jpu_buf *b, const char *obj, const void *ctx),
                   const void *ctx)
{
	const char *open_obj = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct jpu_metric *m = &rows[i];

		if (!flag(base, m->present_off))
			continue;
		if (open_obj && (!m->json_obj || strcmp(open_obj, m->json_obj) != 0)) {
			if (extras)
				extras(b, open_obj, ctx);
			jpu_buf_puts(b, "}");
			open_obj = NULL;
		}
		if (m->json_obj && !open_obj) {
			jpu_buf_printf(b, ",\"%s\":{", m->json_obj);
			open_obj = m->json_obj;
		} else {
			jpu_buf_puts(b, ",");
		}
		jpu_buf_printf(b, "\"%s\":", m->json_key);
		if (!flag(base, m->limit_flag_off))
			jpu_buf_puts(b, "null");
		else
			write_value(b, m, base);
	}
	if (open_obj) {
		if (extras)
			extras(b, open_obj, ctx);
		jpu_buf_puts(b, "}");
	}
}

void jpu_json_history_ring(struct jpu_buf *b, uint64_t interval_usec, const struct jpu_hist *ring,
                           size_t len, size_t head, size_t count, uint64_t since_usec)
{
	bool first = true;

	jpu_buf_puts(b, "{\"interval_s\":");
	jpu_buf_micro(b, interval_usec);
	jpu_buf_puts(b, ",\"samples\":[");
	for (size_t i = 0; i < count; i++) {
		const struct jpu_hist *h = &ring[(head + len - count + i) % len];

		if (h->t_real_usec <= since_usec)
			continue;
		jpu_buf_puts(b, first ? "{\"time\":" : ",{\"time\":");
		first = false;
		jpu_buf_iso_time(b, h->t_real_usec);
		jpu_json_rows(b, jpu_hist_metrics, jpu_hist_metrics_len, h, NULL, NULL);
		jpu_buf_puts(b, "}");
	}
	jpu_buf_puts(b, "]}");
}

void jpu_json_history(struct jpu_buf *b, const struct jpu_engine *e, uint64_t since_usec)
{
	jpu_json_history_ring(b, e->interval_usec, e->hist, e->history_len, e->hist_head,
	                      e->hist_count, since_usec);
}

void jpu_json_tracked(struct jpu_buf *b, const struct jpu_engine *e)
{
	jpu_buf_puts(b, "[");
	for (size_t i = 0; i < e->n_tracked; i++) {
		struct jpu_tracked one = e->tracked[i];
		const struct jpu_tracked *t = &one;

		/* totals restored from the state file have no sum yet */
		one.energy_total_uj = one.energy.cpu_uj + one.energy.dram_uj + one.energy.gpu_uj;
		jpu_buf_puts(b, i ? ",{\"tag\":" : "{\"tag\":");
		jpu_buf_json_str(b, t->tag);
		jpu_buf_printf(b, ",\"pid\":%d,\"alive\":%s", (int)t->pid,
		               t->alive ? "true" : "false");
		jpu_json_rows(b, jpu_tracked_metrics, jpu_tracked_metrics_len, t, NULL, NULL);
		jpu_buf_puts(b, "}");
	}
	jpu_buf_puts(b, "]");
}

void jpu_json_diagnostics(struct jpu_buf *b, const struct jpu_engine *e)
{
	jpu_buf_puts(b, "[");
	for (size_t i = 0; i < e->n_diags; i++) {
		jpu_buf_puts(b, i ? ",{\"sensor\":" : "{\"sensor\":");
		jpu_buf_json_str(b, e->diags[i].sensor);
		jpu_buf_puts(b, ",\"reason\":");
		jpu_buf_json_str(b, jpu_reason_name(e->diags[i].reason));
		jpu_buf_puts(b, ",\"message\":");
		jpu_buf_json_str(b, e->diags[i].message);
		jpu_buf_puts(b, "}");
	}
	jpu_buf_puts(b, "]");
}

/* The sample of the engine's scope (x NULL) or of an added scope. */
static void json_sample(struct jpu_buf *b, const struct jpu_engine *e, const struct jpu_snapshot *s,
                        const struct jpu_xscope *x)
{
	enum jpu_scope scope = x ? x->kind : s->scope;

	jpu_buf_puts(b, "{\"time\":");
	jpu_buf_iso_time(b, s->t_real_usec);
	jpu_buf_puts(b, ",\"interval_s\":");
	jpu_buf_micro(b, s->interval_usec);
	jpu_buf_puts(b, ",\"scope\":");
	jpu_buf_json_str(b, jpu_scope_to_string(scope));
	if (x) {
		jpu_buf_puts(b, ",\"key\":");
		jpu_buf_json_str(b, x->key);
		jpu_buf_printf(b, ",\"alive\":%s", x->alive ? "true" : "false");
	}
	if (scope == JPU_SCOPE_PROCESS)
		jpu_buf_printf(b, ",\"pid\":%d", (int)(x ? x->pid : e->pid));
	else if (scope == JPU_SCOPE_USER)
		jpu_buf_printf(b, ",\"uid\":%u", (unsigned)(x ? x->uid : e->uid));
	else if (scope == JPU_SCOPE_CGROUP && x) {
		jpu_buf_puts(b, ",\"cgroup\":");
		jpu_buf_json_str(b, x->cgroup);
	}
	jpu_buf_puts(b, ",\"idle_policy\":");
	jpu_buf_json_str(b, e->idle_policy == JPU_IDLE_BUSY   ? "busy"
	                    : e->idle_policy == JPU_IDLE_EVEN ? "even"
	                                                      : "none");

	jpu_json_rows(b, jpu_metrics, jpu_metrics_len, s, write_extras, s);
	jpu_buf_puts(b, ",\"diagnostics\":");
	jpu_json_diagnostics(b, e);
	jpu_buf_puts(b, "}");
}

void jpu_json_sample(struct jpu_buf *b, const struct jpu_engine *e, const struct jpu_snapshot *s)
{
	json_sample(b, e, s, NULL);
}

void jpu_json_scope_sample(struct jpu_buf *b, const struct jpu_engine *e,
                           const struct jpu_xscope *x)
{
	json_sample(b, e, &x->snap, x);
}
