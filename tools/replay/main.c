/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mfcolo-replay: see docs/replay.md. */
#include <stdio.h>

#include "replay.h"

int main(int argc, char **argv)
{
    return replay_main(argc, argv, stdout, stderr, NULL);
}
