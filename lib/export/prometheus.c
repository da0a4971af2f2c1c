/* SPDX-License-Identifier: BSD-3-Clause */
/* placeholder: filled in by its module */
#include "../internal.h"
