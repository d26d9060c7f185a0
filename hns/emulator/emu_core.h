/*
 * HCN emulator (test double, not Windows code): the machinery under the exported functions in
 * hcn_emulator.c — Windows types, HRESULTs, error records, fault injection, IDs, handles, and
 * reading the JSON documents callers pass. It states no HCN rule; those are in hcn_emulator.c.
 */
#ifndef CROSSCNI_EMU_CORE_H
#define CROSSCNI_EMU_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "emu_json.h"
#include "emu_mem.h"
#include "emu_store.h"

#define EXPORT __attribute__((visibility("default")))

typedef int32_t HRESULT;
typedef emu_wchar WCHAR;
/* GUID exactly as guiddef.h lays it out; REFGUID is a pointer to one. */
typedef struct {
  uint32_t Data1;
  uint16_t Data2;
  uint16_t Data3;
  uint8_t Data4[8];
} GUID;

#define HR(x) ((HRESULT)(uint32_t)(x))
#define S_OK 0
#define E_POINTER HR(0x80004003)
#define E_HANDLE HR(0x80070006)
#define E_OUTOFMEMORY HR(0x8007000E)
#define E_INVALIDARG HR(0x80070057)
#define HR_ALREADY_EXISTS HR(0x800700B7) /* HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) */
#define HR_NOT_FOUND HR(0x80070490)      /* HRESULT_FROM_WIN32(ERROR_NOT_FOUND) */
#define HCN_E_POLICY_NOT_FOUND HR(0x803B0008)
#define HCN_E_INVALID_NETWORK_TYPE HR(0x803B000B)
#define HCN_E_INVALID_POLICY HR(0x803B000D)
#define HCN_E_INVALID_POLICY_TYPE HR(0x803B000E)
#define HCN_E_NETWORK_ALREADY_EXISTS HR(0x803B0010)
#define HCN_E_REQUEST_UNSUPPORTED HR(0x803B0015)
#define HCN_E_INVALID_JSON HR(0x803B001B)
#define HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS HR(0x803B002B)
#define HCN_E_ENTITY_HAS_REFERENCES HR(0x803B002C)

extern const char *const EMU_KIND_NAME[3];

/* One lock for the whole API: koffi's async calls run on worker threads. */
void emu_lock(void);
void emu_unlock(void);

/* Sets *error_record (if the caller asked for one) to an HNS-shaped record; returns hr. */
HRESULT emu_fail(WCHAR **error_record, HRESULT hr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Consumes a failure armed for `function` by EmuFailNext; hr >= 0 still sets an error record. */
bool emu_injected(const char *function, WCHAR **error_record, HRESULT *hr);
void emu_inject(const char *function, HRESULT hr);
void emu_injections_reset(void);

/* A pseudo-random number (xorshift; IDs and MACs need uniqueness, not secrecy). */
uint64_t emu_random(void);
/* HCN's spelling of a GUID: upper-case hex, no braces. */
void emu_format_guid(const GUID *g, char out[EMU_ID_LEN]);
/* The ID a create call gives its object: the caller's, or a fresh version-4 GUID for zero. */
void emu_choose_id(const GUID *requested, char out[EMU_ID_LEN]);

/* Handles are pointers only this emulator hands out; any other pointer is E_HANDLE. */
void *emu_handle_new(emu_kind kind, const char *id);
/* The object behind a live handle of `kind`, or an HRESULT with an error record. */
HRESULT emu_handle_object(void *handle, emu_kind kind, emu_object **o, WCHAR **error_record);
HRESULT emu_handle_close(void *handle, emu_kind kind);
size_t emu_open_handles(void);
void emu_handles_reset(void);

typedef struct {
  char *text;
  jspan root;
} emu_doc;

typedef enum { SCHEMA_REQUIRED, SCHEMA_IF_PRESENT, SCHEMA_IGNORED } emu_schema_rule;

/* Parses a PCWSTR as a JSON object; an absent or empty optional document reads as {}. */
HRESULT emu_read_doc(const WCHAR *w, bool optional, emu_schema_rule schema, const char *what, emu_doc *d,
                     WCHAR **error_record);
void emu_doc_free(emu_doc *d);

bool emu_string_in(const char *s, const char *const *list);
/* True when the object `root` has a string member `key` equal to `want`. */
bool emu_member_equals(jspan root, const char *key, const char *want);

#endif
