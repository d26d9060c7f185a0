/*
 * HCN emulator (test double, not Windows code): what the vmcompute.dll part of the emulator
 * (hcs_emulator.c) shares with the computenetwork.dll part — which endpoints are attached to a
 * compute system, and the reset/handle-count hooks. See hcs_emulator.c for the rules.
 */
#ifndef CROSSCNI_EMU_HCS_H
#define CROSSCNI_EMU_HCS_H

#include <stddef.h>

/* Compute systems the endpoint is attached to (hot-attached by HcsModifyComputeSystem). */
size_t emu_hcs_attachments_of_endpoint(const char *endpoint_id);
/* Compute system handles opened and not yet closed. */
size_t emu_hcs_open_handles(void);
/* Forgets every compute system, attachment and handle; the HNS version returns to its default. */
void emu_hcs_reset(void);

#endif
