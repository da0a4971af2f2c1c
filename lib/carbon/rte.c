/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RTE eCO2mix (France) through the ODRE open-data portal, Explore API v2.1:
 * dataset "eco2mix-national-tr" (real-time national data, one row every
 * 15 min), field "taux_co2" in gCO2/kWh of direct combustion emissions.
 * Source: https://odre.opendatasoft.com/explore/dataset/eco2mix-national-tr/
 * (anonymous quota about 50,000 calls a month: one call per 15 min is
 * about 3,000). Rows not yet measured carry taux_co2 = null and must be
 * skipped, never read as 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "carbon.h"

#if JPU_HAVE_NET_CARBON

static int rte_zone(const struct jpu_carbon_opts *o, const struct jpu_logger *log, char *ret,
                    size_t size)
{
	if (o->country && strcasecmp(o->country, "FR") != 0) {
		jpu_logf(log, JPU_LOG_ERR,
		         "carbon provider rte serves France only, but country is \"%s\": use "
		         "country FR, or the emaps or table provider",
		         o->country);
		return -EINVAL;
	}
	jpu_carbon_strlcpy(ret, "FR", size);
	return 0;
}

static int rte_path(const char *zone, char *buf, size_t size)
{
	/* Newest row that has a value: the filter keeps the forecast-only rows
	 * (taux_co2 null) out; the parser skips them anyway. */
	int n = snprintf(buf, size, "%s",
	                 "/api/explore/v2.1/catalog/datasets/eco2mix-national-tr/records"
	                 "?select=date_heure,taux_co2&where=taux_co2%20is%20not%20null"
	                 "&order_by=date_heure%20desc&limit=1");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int jpu_carbon_parse_rte(const char *body, size_t len, struct jpu_intensity *ret)
{
	struct jpu_intensity v = {0};
	json_t *root, *results;
	int r = -ENODATA;
	size_t i;

	root = jpu_carbon_json_load(body, len);
	if (!root)
		return -EBADMSG;
	if (!json_is_object(root)) {
		r = -EBADMSG;
		goto out;
	}
	results = json_object_get(root, "results");
	if (!results) {
		/* ODRE errors: {"error_code": "...", "message": "..."} */
		r = json_object_get(root, "error_code") ? -EPROTO : -EBADMSG;
		goto out;
	}
	if (!json_is_array(results)) {
		r = -EBADMSG;
		goto out;
	}
	for (i = 0; i < json_array_size(results); i++) {
		json_t *row = json_array_get(results, i);
		const char *when;
		uint32_t mg;
		int k;

		if (!json_is_object(row)) {
			r = -EBADMSG;
			goto out;
		}
		k = jpu_carbon_json_g_per_kwh(json_object_get(row, "taux_co2"), &mg);
		if (k == -ENODATA)
			continue; /* not measured yet: skip the row */
		if (k < 0) {
			r = k;
			goto out;
		}
		when = json_string_value(json_object_get(row, "date_heure"));
		if (!when || jpu_carbon_parse_time(when, &v.data_t_usec) < 0) {
			r = -EBADMSG;
			goto out;
		}
		v.mg_per_kwh = mg;
		jpu_carbon_strlcpy(v.source, "rte", sizeof v.source);
		jpu_carbon_strlcpy(v.zone, "FR", sizeof v.zone);
		jpu_carbon_strlcpy(v.basis, "direct", sizeof v.basis);
		*ret = v;
		r = 0;
		goto out;
	}
out:
	json_decref(root);
	return r;
}

const struct jpu_carbon_provider_ops jpu_carbon_rte = {
        .name = "rte",
        .network = true,
        .default_base_url = "https://odre.opendatasoft.com",
        .cadence_usec = 15 * 60 * JPU_USEC_PER_SEC,
        .basis = "direct",
        .zone = rte_zone,
        .path = rte_path,
        .parse = jpu_carbon_parse_rte,
};

#endif
