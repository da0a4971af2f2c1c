/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The output edge (lib/export/): the metric tables (metrics.c), the buffer
 * the writers print into, and the JSON (json.c) and Prometheus
 * (prometheus.c) writers, which walk the tables: one writer path for every
 * figure the engine shows (STYLE rule 17).
 */
#ifndef JPU_EXPORT_H
#define JPU_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct jpu_engine;
struct jpu_snapshot;

/* The writers over the metric tables; the caller holds e->lock. */
struct jpu_buf {
	char *data;
	size_t len, cap;
	bool oom;
	uint32_t resolution; /* jpu_buf_micro rounds to this many millionths; 0 = exact */
};
void jpu_buf_puts(struct jpu_buf *b, const char *s);
void jpu_buf_putn(struct jpu_buf *b, const char *s, size_t n);
void jpu_buf_printf(struct jpu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jpu_buf_json_str(struct jpu_buf *b, const char *s);
/* value in micro-units printed as units with 6 decimals, from integers */
void jpu_buf_micro(struct jpu_buf *b, uint64_t v);
void jpu_buf_iso_time(struct jpu_buf *b, uint64_t t_usec);
int jpu_buf_finish(struct jpu_buf *b, char **ret);

void jpu_json_sample(struct jpu_buf *b, const struct jpu_engine *e, const struct jpu_snapshot *s);
void jpu_json_diagnostics(struct jpu_buf *b, const struct jpu_engine *e);
/* The history ring's samples newer than since_usec, and the tracked
 * trees, from their metric tables (jpu_hist_metrics, jpu_tracked_metrics). */
void jpu_json_history(struct jpu_buf *b, const struct jpu_engine *e, uint64_t since_usec);
void jpu_json_tracked(struct jpu_buf *b, const struct jpu_engine *e);
/* A history ring of len entries (count of them used, the next at head). */
struct jpu_hist;
void jpu_json_history_ring(struct jpu_buf *b, uint64_t interval_usec, const struct jpu_hist *ring,
                           size_t len, size_t head, size_t count, uint64_t since_usec);
/* An added scope's latest sample: jpu_json_sample's object plus "key",
 * "alive" and its uid, pid or cgroup path. */
struct jpu_xscope;
void jpu_json_scope_sample(struct jpu_buf *b, const struct jpu_engine *e,
                           const struct jpu_xscope *x);
void jpu_prom_write(struct jpu_buf *b, const struct jpu_engine *e, const struct jpu_snapshot *s);

/* The metric table (export/metrics.c): one row per figure, read by both
 * the JSON and the Prometheus writers. */
enum jpu_metric_unit {
	JPU_UNIT_MICRO, /* µW -> W, µJ -> J: printed /1e6 */
	JPU_UNIT_RATIO, /* a double 0..1 */
	JPU_UNIT_MILLI, /* mg/kWh -> g/kWh: printed /1e3 */
};

struct jpu_metric {
	const char *json_obj;  /* "cpu", "dram", ... or "energy_j"; NULL = a top-level key */
	const char *json_key;  /* "usage", "total", ... */
	const char *prom_name; /* NULL = JSON only */
	const char *prom_type; /* "gauge" or "counter" */
	const char *prom_help;
	const char *prom_label; /* extra label pair "kind=\"usage\"" or NULL */
	enum jpu_metric_unit unit;
	/* where the value is and whether it is present */
	size_t value_off;       /* offset of a uint64_t (a double for RATIO) in the row's struct */
	ssize_t present_off;    /* offset of a bool, -1 = always */
	ssize_t limit_flag_off; /* limit: offset of has_limit (JSON null when false), -1 = none */
};

/* One table per kind of record: the sample (struct jpu_snapshot), a
 * history entry (struct jpu_hist) and a tracked tree (struct jpu_tracked). */
extern const struct jpu_metric jpu_metrics[];
extern const size_t jpu_metrics_len;
extern const struct jpu_metric jpu_hist_metrics[];
extern const size_t jpu_hist_metrics_len;
extern const struct jpu_metric jpu_tracked_metrics[];
extern const size_t jpu_tracked_metrics_len;
/* Node series per zone and per GPU device (struct jpu_zone_rec). */
extern const struct jpu_metric jpu_zone_metrics[];
extern const size_t jpu_zone_metrics_len;
extern const struct jpu_metric jpu_device_metrics[];
extern const size_t jpu_device_metrics_len;

/* JSON: the rows present in the record at base, each written as
 * ',"key":value' (or grouped ',"obj":{...}'); extras(b, obj, ctx) appends
 * the non-numeric fields of an object before it closes (may be NULL). */
void jpu_json_rows(struct jpu_buf *b, const struct jpu_metric *rows, size_t n, const void *base,
                   void (*extras)(struct jpu_buf *b, const char *obj, const void *ctx),
                   const void *ctx);

#endif /* JPU_EXPORT_H */
