/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A constant intensity. The default, 475 gCO2/kWh, is the IEA world average
 * for 2018 (IEA, Global Energy & CO2 Status Report 2019), the default factor
 * of the original jupyter-power-usage extension: it keeps users' figures
 * comparable. It counts CO2 from combustion ("direct"); a value the user
 * sets has whatever basis its source has ("custom").
 */
#include <errno.h>
#include <string.h>

#include "carbon.h"

static int constant_zone(const struct jpu_carbon_opts *o, const struct jpu_logger *log, char *ret,
                         size_t size)
{
	if (o->constant_mg_per_kwh > JPU_CARBON_MAX_MG_PER_KWH) {
		jpu_logf(log, JPU_LOG_ERR,
		         "carbon constant intensity %u mg/kWh is above %u mg/kWh: give it in "
		         "mgCO2eq/kWh (g/kWh x 1000)",
		         o->constant_mg_per_kwh, JPU_CARBON_MAX_MG_PER_KWH);
		return -EINVAL;
	}
	jpu_carbon_strlcpy(ret, o->country ? o->country : "World", size);
	return 0;
}

static int constant_local(const struct jpu_carbon_opts *o, const char *zone,
                          struct jpu_intensity *ret)
{
	struct jpu_intensity v = {0};
	bool custom = o->constant_mg_per_kwh != 0;

	v.mg_per_kwh = custom ? o->constant_mg_per_kwh : JPU_CARBON_DEFAULT_MG_PER_KWH;
	jpu_carbon_strlcpy(v.source, "constant", sizeof v.source);
	jpu_carbon_strlcpy(v.zone, zone, sizeof v.zone);
	jpu_carbon_strlcpy(v.basis, custom ? "custom" : "direct", sizeof v.basis);
	v.estimated = true;
	*ret = v;
	return 0;
}

const struct jpu_carbon_provider_ops jpu_carbon_constant = {
        .name = "constant",
        .basis = "direct",
        .zone = constant_zone,
        .local = constant_local,
};
