/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placeholder so the support library is never empty. */
#include "support.h"

const char *support_version(void)
{
    return "mfcolo-support";
}
