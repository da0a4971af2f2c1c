/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal interfaces of libjpu, one header per module beside its .c; this
 * one gathers those most modules use. /proc and cgroups have headers of
 * their own (lib/proc/, lib/cgroup.h). Nothing here is exported (see STYLE
 * rule 15): the symbols are hidden by -fvisibility.
 */
#ifndef JPU_INTERNAL_H
#define JPU_INTERNAL_H

#include "util.h"           /* logging, strict parsers, file helpers, clocks */
#include "sensors/sensor.h" /* backends, registry, the combine stage's types */
#include "tables.h"         /* data tables compiled in */
#include "attribution.h"    /* the attribute stage */

#endif /* JPU_INTERNAL_H */
