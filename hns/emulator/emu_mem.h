/*
 * HCN emulator (test double, not Windows code): the memory HCN hands to its callers. Every
 * string an emulated HCN function returns (lists, properties, error records) is a tracked
 * allocation that only CoTaskMemFree releases, so tests can prove the FFI layer frees each one
 * exactly once. It must not free anything behind the caller's back except on EmuReset.
 */
#ifndef CROSSCNI_EMU_MEM_H
#define CROSSCNI_EMU_MEM_H

#include <stddef.h>
#include <stdint.h>

/* WCHAR as Windows defines it: a UTF-16 code unit. */
typedef uint16_t emu_wchar;

/* UTF-16 (NUL-terminated) to malloc'd UTF-8; lone surrogates become U+FFFD. NULL in, NULL out. */
char *emu_utf16_to_utf8(const emu_wchar *s);
/* UTF-8 to a tracked UTF-16 allocation for the caller to release with CoTaskMemFree. */
emu_wchar *emu_export_utf16(const char *utf8);

/* ole32's CoTaskMemFree, as computenetwork.dll's callers use it. NULL is a no-op. */
void CoTaskMemFree(void *p);

/* Test hooks (exported from hcn_emulator.c). */
size_t emu_outstanding_allocations(void);
size_t emu_bad_frees(void);
void emu_mem_reset(void);

#endif
