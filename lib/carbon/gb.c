/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GB: the National Energy System Operator's Carbon Intensity API
 * (https://carbon-intensity.github.io/api-definitions/, no key, CC BY 4.0),
 * half-hourly, gCO2/kWh of direct combustion emissions. National
 * GET /intensity gives "actual" (else only "forecast"); regional
 * GET /regional/postcode/<outward> has forecasts only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "carbon.h"

#if JPU_HAVE_NET_CARBON

/* An outward postcode: 2 to 4 letters and digits, starting with a letter
 * ("N1", "RG10", "EC1A"). */
static bool is_outward_postcode(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 2 || n > 4 || !isalpha((unsigned char)s[0]))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return false;
	return true;
}

static int gb_zone(const struct jpu_carbon_opts *o, const struct jpu_logger *log, char *ret,
                   size_t size)
{
	char zone[16] = "GB";
	size_t i;

	if (o->country && strcasecmp(o->country, "GB") != 0) {
		jpu_logf(log, JPU_LOG_ERR,
		         "carbon provider gb serves Great Britain only, but country is \"%s\": use "
		         "country GB, or the emaps or table provider",
		         o->country);
		return -EINVAL;
	}
	if (o->postcode && o->postcode[0]) {
		if (!is_outward_postcode(o->postcode)) {
			jpu_logf(log, JPU_LOG_ERR,
			         "carbon postcode \"%s\" is not an outward postcode (the first "
			         "half, e.g. RG10)",
			         o->postcode);
			return -EINVAL;
		}
		snprintf(zone, sizeof zone, "GB-%s", o->postcode);
		for (i = 3; zone[i]; i++)
			zone[i] = (char)toupper((unsigned char)zone[i]);
	}
	jpu_carbon_strlcpy(ret, zone, size);
	return 0;
}

static int gb_path(const char *zone, char *buf, size_t size)
{
	int n;

	if (strncmp(zone, "GB-", 3) == 0)
		n = snprintf(buf, size, "/regional/postcode/%s", zone + 3);
	else
		n = snprintf(buf, size, "/intensity");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* One period object {"from":..,"intensity":{"forecast":..,"actual":..}}. */
static int gb_period(const json_t *period, struct jpu_intensity *v)
{
	const json_t *intensity;
	const char *from;
	int r;

	if (!json_is_object(period))
		return -EBADMSG;
	intensity = json_object_get(period, "intensity");
	if (!json_is_object(intensity))
		return -EBADMSG;
	r = jpu_carbon_json_g_per_kwh(json_object_get(intensity, "actual"), &v->mg_per_kwh);
	v->estimated = false;
	if (r == -ENODATA) {
		/* no actual yet (always so for regions): the forecast */
		r = jpu_carbon_json_g_per_kwh(json_object_get(intensity, "forecast"),
		                              &v->mg_per_kwh);
		v->estimated = true;
	}
	if (r < 0)
		return r;
	from = json_string_value(json_object_get(period, "from"));
	if (!from || jpu_carbon_parse_time(from, &v->data_t_usec) < 0)
		return -EBADMSG;
	return 0;
}

int jpu_carbon_parse_gb(const char *body, size_t len, struct jpu_intensity *ret)
{
	struct jpu_intensity v = {0};
	const json_t *data, *first, *inner;
	const char *postcode;
	json_t *root;
	int r;

	root = jpu_carbon_json_load(body, len);
	if (!root)
		return -EBADMSG;
	if (!json_is_object(root)) {
		r = -EBADMSG;
		goto out;
	}
	data = json_object_get(root, "data");
	if (!data) {
		r = json_object_get(root, "error") ? -EPROTO : -EBADMSG;
		goto out;
	}
	/* national: data is an array of periods; some regional answers put
	 * one region object in data directly */
	first = json_is_array(data) ? json_array_get(data, 0) : data;
	if (json_is_array(data) && json_array_size(data) == 0) {
		r = -ENODATA;
		goto out;
	}
	if (!json_is_object(first)) {
		r = -EBADMSG;
		goto out;
	}
	jpu_carbon_strlcpy(v.zone, "GB", sizeof v.zone);
	inner = json_object_get(first, "data");
	if (inner) {
		/* regional: {"regionid":..,"postcode":..,"data":[period,...]} */
		if (!json_is_array(inner)) {
			r = -EBADMSG;
			goto out;
		}
		if (json_array_size(inner) == 0) {
			r = -ENODATA;
			goto out;
		}
		postcode = json_string_value(json_object_get(first, "postcode"));
		if (postcode && strlen(postcode) <= 4)
			snprintf(v.zone, sizeof v.zone, "GB-%s", postcode);
		first = json_array_get(inner, 0);
	}
	r = gb_period(first, &v);
	if (r < 0)
		goto out;
	jpu_carbon_strlcpy(v.source, "gb", sizeof v.source);
	jpu_carbon_strlcpy(v.basis, "direct", sizeof v.basis);
	*ret = v;
out:
	json_decref(root);
	return r;
}

const struct jpu_carbon_provider_ops jpu_carbon_gb = {
        .name = "gb",
        .network = true,
        .default_base_url = "https://api.carbonintensity.org.uk",
        .cadence_usec = 30 * 60 * JPU_USEC_PER_SEC,
        .basis = "direct",
        .zone = gb_zone,
        .path = gb_path,
        .parse = jpu_carbon_parse_gb,
};

#endif
