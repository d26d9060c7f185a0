/*
 * HCN emulator (test double, not Windows code): the machinery under the exported functions in
 * hcn_emulator.c: error records, fault injection, IDs, handles, and reading the JSON documents
 * callers pass. It states no HCN rule itself; the rules are all in hcn_emulator.c.
 */
#include "emu_core.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const EMU_KIND_NAME[3] = {"network", "endpoint", "namespace"};

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;

void emu_lock(void) { pthread_mutex_lock(&api_lock); }

void emu_unlock(void) { pthread_mutex_unlock(&api_lock); }

/* ---- error records ---------------------------------------------------------------------- */

HRESULT emu_fail(WCHAR **error_record, HRESULT hr, const char *fmt, ...) {
  if (!error_record) return hr;
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  /* The shape of HNS's error records: {"Success":false,"Error":"...","ErrorCode":<uint32>}. */
  sbuf b;
  sb_init(&b);
  sb_puts(&b, "{\"Success\":false,\"Error\":");
  sb_put_json_string(&b, message);
  char code[32];
  snprintf(code, sizeof code, ",\"ErrorCode\":%u}", (uint32_t)hr);
  sb_puts(&b, code);
  char *text = sb_take(&b);
  *error_record = emu_export_utf16(text);
  free(text);
  return hr;
}

/* ---- fault injection ------------------------------------------------------------------- */

#define MAX_INJECTIONS 16
static struct {
  char function[64];
  HRESULT hr;
} injections[MAX_INJECTIONS];
static size_t injection_count;

/* A failure armed by EmuFailNext; hr >= 0 means "succeed but return an error record". */
bool emu_injected(const char *function, WCHAR **error_record, HRESULT *hr) {
  for (size_t i = 0; i < injection_count; i++) {
    if (strcmp(injections[i].function, function) != 0) continue;
    *hr = injections[i].hr;
    memmove(&injections[i], &injections[i + 1], (injection_count - i - 1) * sizeof injections[0]);
    injection_count--;
    emu_fail(error_record, *hr, "%s: injected failure (EmuFailNext)", function);
    return true;
  }
  return false;
}

void emu_inject(const char *function, HRESULT hr) {
  if (!function || injection_count == MAX_INJECTIONS) return;
  snprintf(injections[injection_count].function, sizeof injections[0].function, "%s", function);
  injections[injection_count].hr = hr;
  injection_count++;
}

void emu_injections_reset(void) { injection_count = 0; }

/* ---- IDs and handles ------------------------------------------------------------------ */

void emu_format_guid(const GUID *g, char out[EMU_ID_LEN]) {
  snprintf(out, EMU_ID_LEN, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", g->Data1, g->Data2, g->Data3,
           g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

static bool guid_is_zero(const GUID *g) {
  static const GUID zero;
  return memcmp(g, &zero, sizeof zero) == 0;
}

static uint64_t random_state;

uint64_t emu_random(void) {
  if (!random_state) random_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
  random_state ^= random_state << 13;
  random_state ^= random_state >> 7;
  random_state ^= random_state << 17;
  return random_state;
}

/* The ID a create call gives its object: the caller's, or a fresh version-4 GUID for zero. */
void emu_choose_id(const GUID *requested, char out[EMU_ID_LEN]) {
  if (!guid_is_zero(requested)) {
    emu_format_guid(requested, out);
    return;
  }
  GUID g;
  uint64_t a = emu_random(), b = emu_random();
  g.Data1 = (uint32_t)a;
  g.Data2 = (uint16_t)(a >> 32);
  g.Data3 = (uint16_t)(((a >> 48) & 0x0FFF) | 0x4000);
  for (int i = 0; i < 8; i++) g.Data4[i] = (uint8_t)(b >> (8 * i));
  g.Data4[0] = (uint8_t)((g.Data4[0] & 0x3F) | 0x80);
  emu_format_guid(&g, out);
}

#define HANDLE_MAGIC 0x48434E48u /* "HCNH" */
typedef struct {
  uint32_t magic;
  emu_kind kind;
  char id[EMU_ID_LEN];
} emu_handle;

static emu_handle **handles;
static size_t handle_count;
static size_t handle_cap;

void *emu_handle_new(emu_kind kind, const char *id) {
  if (handle_count == handle_cap) {
    size_t cap = handle_cap ? handle_cap * 2 : 16;
    emu_handle **grown = realloc(handles, cap * sizeof *grown);
    if (!grown) return NULL;
    handles = grown;
    handle_cap = cap;
  }
  emu_handle *h = malloc(sizeof *h);
  if (!h) return NULL;
  *h = (emu_handle){HANDLE_MAGIC, kind, {0}};
  memcpy(h->id, id, EMU_ID_LEN);
  handles[handle_count++] = h;
  return h;
}

/* Only handles this emulator gave out and nobody closed are valid (a stale one is E_HANDLE). */
static size_t handle_index(void *p, emu_kind kind) {
  for (size_t i = 0; i < handle_count; i++)
    if ((void *)handles[i] == p && handles[i]->magic == HANDLE_MAGIC && handles[i]->kind == kind) return i;
  return SIZE_MAX;
}

HRESULT emu_handle_object(void *handle, emu_kind kind, emu_object **o, WCHAR **er) {
  size_t i = handle_index(handle, kind);
  if (i == SIZE_MAX) return emu_fail(er, E_HANDLE, "the %s handle is not valid (closed or never opened)", EMU_KIND_NAME[kind]);
  *o = store_find(kind, handles[i]->id);
  if (!*o) return emu_fail(er, HR_NOT_FOUND, "%s %s not found (deleted while open)", EMU_KIND_NAME[kind], handles[i]->id);
  return S_OK;
}

HRESULT emu_handle_close(void *handle, emu_kind kind) {
  size_t i = handle_index(handle, kind);
  if (i == SIZE_MAX) return E_HANDLE;
  emu_handle *h = handles[i];
  handles[i] = handles[--handle_count];
  h->magic = 0;
  free(h);
  return S_OK;
}

size_t emu_open_handles(void) { return handle_count; }

void emu_handles_reset(void) {
  for (size_t i = 0; i < handle_count; i++) free(handles[i]);
  handle_count = 0;
}

/* ---- documents --------------------------------------------------------------------------- */

HRESULT emu_read_doc(const WCHAR *w, bool optional, emu_schema_rule schema, const char *what, emu_doc *d, WCHAR **er) {
  d->text = emu_utf16_to_utf8(w);
  if (!d->text || !d->text[0]) {
    if (!optional) return emu_fail(er, E_INVALIDARG, "%s: the document is empty", what);
    free(d->text);
    d->text = strdup("{}");
    if (!d->text) return emu_fail(er, E_OUTOFMEMORY, "%s: out of memory", what);
  }
  if (!json_valid(d->text, strlen(d->text), &d->root))
    return emu_fail(er, HCN_E_INVALID_JSON, "%s: invalid JSON document", what);
  if (!json_is_object(d->root)) return emu_fail(er, HCN_E_INVALID_JSON, "%s: the document is not a JSON object", what);
  jspan sv, major;
  long long n;
  bool present = json_member(d->root, "SchemaVersion", &sv);
  if (schema == SCHEMA_IGNORED || (!present && schema == SCHEMA_IF_PRESENT)) return S_OK;
  if (!present || !json_member(sv, "Major", &major) || !json_int(major, &n) || n != 2)
    return emu_fail(er, E_INVALIDARG,
                    "%s: SchemaVersion must be {\"Major\":2,\"Minor\":0} (the emulator speaks schema v2 only)", what);
  return S_OK;
}

void emu_doc_free(emu_doc *d) {
  free(d->text);
  d->text = NULL;
}

bool emu_string_in(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(s, *list) == 0) return true;
  return false;
}

bool emu_member_equals(jspan root, const char *key, const char *want) {
  jspan v;
  char *s = json_member(root, key, &v) ? json_string(v) : NULL;
  bool equal = s && strcmp(s, want) == 0;
  free(s);
  return equal;
}

