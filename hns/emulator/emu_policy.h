/*
 * HCN emulator (test double, not Windows code): Policies arrays of networks and endpoints. See
 * emu_policy.c.
 */
#ifndef CROSSCNI_EMU_POLICY_H
#define CROSSCNI_EMU_POLICY_H

#include "emu_core.h"

/* Every element of `policies` must be an object whose string Type is in `types`. */
HRESULT emu_check_policies(jspan policies, const char *const *types, const char *what, WCHAR **error_record);
/* Applies a {ResourceType:"Policy", RequestType, Settings:{Policies}} request to `o`. */
HRESULT emu_edit_policies(emu_object *o, jspan request, const char *const *types, WCHAR **error_record);

#endif
