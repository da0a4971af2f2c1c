/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data tables compiled in (generated from the data CSVs by
 * data/gen_tables.py at build time).
 */
#ifndef JPU_TABLES_H
#define JPU_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* ---- data tables (generated from the data CSVs by data/gen_tables.py) ---- */

struct jpu_vcpu_row {
	const char *arch;        /* microarchitecture, "average" first */
	uint32_t min_mw, max_mw; /* per vCPU at 0 % and 100 % load */
};
struct jpu_tdp_row {
	const char *name; /* CPU model as in CodeCarbon's table */
	uint32_t tdp_mw;
};
struct jpu_country_row {
	const char *iso2, *name;
	int year;
	uint32_t mg_per_kwh; /* gCO2eq/kWh x 1000 */
};
extern const struct jpu_vcpu_row jpu_vcpu_table[];
extern const size_t jpu_vcpu_table_len;
extern const struct jpu_tdp_row jpu_tdp_table[]; /* sorted by name, case-insensitive */
extern const size_t jpu_tdp_table_len;
extern const struct jpu_country_row jpu_country_table[];
extern const size_t jpu_country_table_len;

#endif /* JPU_TABLES_H */
