/*
 * HCS EMULATOR — the vmcompute.dll part of the test double (not Windows code, never shipped).
 * It exports the four vmcompute.dll functions crosscni uses, with hcsshim's C signatures
 * (internal/vmcompute/vmcompute.go, internal/hns/hns.go):
 *   HRESULT HNSCall(PCWSTR method, PCWSTR path, PCWSTR request, PWSTR *response)
 *   HRESULT HcsOpenComputeSystem(PCWSTR id, HCS_SYSTEM *computeSystem, PWSTR *result)
 *   HRESULT HcsModifyComputeSystem(HCS_SYSTEM computeSystem, PCWSTR configuration, PWSTR *result)
 *   HRESULT HcsCloseComputeSystem(HCS_SYSTEM computeSystem)
 * Every PWSTR handed out is a tracked allocation only CoTaskMemFree releases (emu_mem.c), as
 * hcsshim's interop.ConvertAndFreeCoTaskMemString expects. Compute systems are not created
 * through this API (containerd/HCS make them); tests make and remove them with the
 * EmuCreateComputeSystem / EmuRemoveComputeSystem hooks, or a separate process lists them in
 * CROSSCNI_EMU_COMPUTE_SYSTEMS (comma-separated IDs) before its first call.
 * Rules (* = emulator choice where the real answer is undocumented):
 *   HNSCall GET /endpoints/<id>     -> {"Success":true,"Output":{ID,Name,VirtualNetwork,SharedContainers}}
 *   HNSCall GET /globals/version    -> {"Success":true,"Output":{"Major":M,"Minor":m}} (EmuSetHnsVersion)
 *   HNSCall of an unknown endpoint  -> S_OK with {"Success":false,"Error":...,"ErrorCode":0x80070490}
 *   HNSCall of any other path       -> S_OK with Success false, ErrorCode 0x803B0015 *
 *   open an unknown compute system  -> 0xC037010E HCS_E_SYSTEM_NOT_FOUND (hcsshim ErrComputeSystemDoesNotExist)
 *   modify on a removed system      -> 0xC037010E; on a closed/foreign handle -> 0x80070006 E_HANDLE
 *   modify request not {"ResourceType":"Network","RequestType":"Add"|"Remove","Settings":"<endpoint GUID>"}
 *                                   -> 0x80070057 E_INVALIDARG *
 *   attach/detach an unknown endpoint -> 0x80070490 *
 *   attach an endpoint already attached (to this system or an HCN namespace) -> 0x803B0014 *
 *   detach an endpoint not attached to this system -> 0x80070490 *
 *   HcnDeleteEndpoint of an endpoint attached to a system -> 0x803B002C * (hcn_emulator.c);
 *   removing a compute system drops its attachments (the container is gone).
 * On failure `result` holds an HCS result document {"Error":<HRESULT>,"ErrorMessage":"..."}.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu_core.h"
#include "emu_hcs.h"

#define HCS_E_SYSTEM_NOT_FOUND HR(0xC037010E)
#define HCN_E_ENDPOINT_ALREADY_ATTACHED HR(0x803B0014)
#define CS_ID_LEN 256
#define CS_MAX 64
#define CS_MAX_ENDPOINTS 16
#define CS_HANDLE_MAGIC 0x48435331u /* "HCS1" */
#define HNS_DEFAULT_MAJOR 13
#define HNS_DEFAULT_MINOR 2

typedef struct {
  char id[CS_ID_LEN];
  char endpoints[CS_MAX_ENDPOINTS][EMU_ID_LEN];
  size_t endpoint_count;
} compute_system;

typedef struct {
  uint32_t magic;
  char id[CS_ID_LEN];
} cs_handle;

static compute_system *systems[CS_MAX];
static size_t system_count;
static cs_handle *cs_handles[256];
static size_t cs_handle_count;
static bool seeded;
static int hns_major = HNS_DEFAULT_MAJOR, hns_minor = HNS_DEFAULT_MINOR;

/* ---- compute systems ---------------------------------------------------------------------- */

static compute_system *cs_find(const char *id) {
  for (size_t i = 0; i < system_count; i++)
    if (strcasecmp(systems[i]->id, id) == 0) return systems[i];
  return NULL;
}

static int cs_create(const char *id) {
  if (!id || !id[0] || strlen(id) >= CS_ID_LEN || cs_find(id) || system_count == CS_MAX) return -1;
  compute_system *cs = calloc(1, sizeof *cs);
  if (!cs) return -1;
  snprintf(cs->id, sizeof cs->id, "%s", id);
  systems[system_count++] = cs;
  return 0;
}

static int cs_remove(const char *id) {
  for (size_t i = 0; i < system_count; i++) {
    if (strcasecmp(systems[i]->id, id) != 0) continue;
    free(systems[i]);
    systems[i] = systems[--system_count];
    return 0;
  }
  return -1;
}

/* A separate process (a plugin executable under test) gets its compute systems from the environment. */
static void seed_from_environment(void) {
  if (seeded) return;
  seeded = true;
  const char *list = getenv("CROSSCNI_EMU_COMPUTE_SYSTEMS");
  if (!list) return;
  char *copy = strdup(list);
  if (!copy) return;
  char *save = NULL;
  for (char *id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save)) cs_create(id);
  free(copy);
}

static long endpoint_index(const compute_system *cs, const char *endpoint_id) {
  for (size_t i = 0; i < cs->endpoint_count; i++)
    if (strcmp(cs->endpoints[i], endpoint_id) == 0) return (long)i;
  return -1;
}

size_t emu_hcs_attachments_of_endpoint(const char *endpoint_id) {
  size_t n = 0;
  for (size_t i = 0; i < system_count; i++) n += endpoint_index(systems[i], endpoint_id) >= 0;
  return n;
}

size_t emu_hcs_open_handles(void) { return cs_handle_count; }

void emu_hcs_reset(void) {
  for (size_t i = 0; i < system_count; i++) free(systems[i]);
  system_count = 0;
  for (size_t i = 0; i < cs_handle_count; i++) free(cs_handles[i]);
  cs_handle_count = 0;
  seeded = false;
  hns_major = HNS_DEFAULT_MAJOR;
  hns_minor = HNS_DEFAULT_MINOR;
}

/* ---- HCS results and handles -------------------------------------------------------------- */

/* Sets *result to an HCS result document (hcsshim's hcsResult: Error, ErrorMessage); returns hr. */
static HRESULT hcs_fail(WCHAR **result, HRESULT hr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static HRESULT hcs_fail(WCHAR **result, HRESULT hr, const char *fmt, ...) {
  if (!result) return hr;
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  sbuf b;
  sb_init(&b);
  char code[48];
  snprintf(code, sizeof code, "{\"Error\":%d,\"ErrorMessage\":", (int)hr);
  sb_puts(&b, code);
  sb_put_json_string(&b, message);
  sb_putc(&b, '}');
  char *text = sb_take(&b);
  *result = emu_export_utf16(text);
  free(text);
  return hr;
}

static long handle_slot(void *p) {
  for (size_t i = 0; i < cs_handle_count; i++)
    if ((void *)cs_handles[i] == p && cs_handles[i]->magic == CS_HANDLE_MAGIC) return (long)i;
  return -1;
}

static HRESULT open_system(const WCHAR *wid, void **handle, WCHAR **result) {
  if (!wid || !handle) return hcs_fail(result, E_POINTER, "HcsOpenComputeSystem: a required pointer is NULL");
  char *id = emu_utf16_to_utf8(wid);
  HRESULT hr = S_OK;
  if (!id) {
    hr = hcs_fail(result, E_OUTOFMEMORY, "out of memory");
  } else if (!cs_find(id)) {
    hr = hcs_fail(result, HCS_E_SYSTEM_NOT_FOUND, "A compute system with the ID \"%s\" was not found", id);
  } else if (cs_handle_count == sizeof cs_handles / sizeof cs_handles[0] || !(cs_handles[cs_handle_count] = malloc(sizeof(cs_handle)))) {
    hr = hcs_fail(result, E_OUTOFMEMORY, "out of memory");
  } else {
    cs_handle *h = cs_handles[cs_handle_count++];
    h->magic = CS_HANDLE_MAGIC;
    snprintf(h->id, sizeof h->id, "%s", id);
    *handle = h;
  }
  free(id);
  return hr;
}

static HRESULT modify_system(void *handle, const WCHAR *configuration, WCHAR **result) {
  long slot = handle_slot(handle);
  if (slot < 0) return hcs_fail(result, E_HANDLE, "HcsModifyComputeSystem: not an open compute system handle");
  compute_system *cs = cs_find(cs_handles[slot]->id);
  if (!cs) return hcs_fail(result, HCS_E_SYSTEM_NOT_FOUND, "compute system \"%s\" no longer exists", cs_handles[slot]->id);
  emu_doc d;
  jspan v;
  char *text = NULL;
  char endpoint[EMU_ID_LEN];
  HRESULT hr = emu_read_doc(configuration, false, SCHEMA_IGNORED, "modify request", &d, NULL);
  bool add = hr >= 0 && emu_member_equals(d.root, "RequestType", "Add");
  bool remove = hr >= 0 && emu_member_equals(d.root, "RequestType", "Remove");
  emu_object *ep = NULL;
  if (hr < 0) {
    hr = hcs_fail(result, hr, "HcsModifyComputeSystem: the configuration is not a JSON object");
  } else if (!emu_member_equals(d.root, "ResourceType", "Network") || (!add && !remove)) {
    hr = hcs_fail(result, E_INVALIDARG, "modify compute system: only ResourceType Network with RequestType Add/Remove is emulated");
  } else if (!json_member(d.root, "Settings", &v) || !(text = json_string(v)) || !emu_parse_id(text, endpoint)) {
    hr = hcs_fail(result, E_INVALIDARG, "modify compute system: Settings must be an endpoint GUID string");
  } else if (!(ep = store_find(EMU_ENDPOINT, endpoint))) {
    hr = hcs_fail(result, HR_NOT_FOUND, "endpoint %s not found", endpoint);
  } else if (add && (endpoint_index(cs, endpoint) >= 0 || ep->namespace_[0])) {
    hr = hcs_fail(result, HCN_E_ENDPOINT_ALREADY_ATTACHED, "endpoint %s is already attached (%s)", endpoint,
                  ep->namespace_[0] ? "to an HCN namespace" : "to this compute system");
  } else if (add && cs->endpoint_count == CS_MAX_ENDPOINTS) {
    hr = hcs_fail(result, E_OUTOFMEMORY, "compute system \"%s\" has too many endpoints", cs->id);
  } else if (add) {
    memcpy(cs->endpoints[cs->endpoint_count++], endpoint, EMU_ID_LEN);
  } else {
    long i = endpoint_index(cs, endpoint);
    if (i < 0) {
      hr = hcs_fail(result, HR_NOT_FOUND, "endpoint %s is not attached to compute system \"%s\"", endpoint, cs->id);
    } else {
      memcpy(cs->endpoints[i], cs->endpoints[--cs->endpoint_count], EMU_ID_LEN);
    }
  }
  free(text);
  emu_doc_free(&d);
  return hr;
}

/* ---- HNS v1 (HNSCall) ---------------------------------------------------------------------- */

static char *hns_failure(HRESULT code, const char *message) {
  sbuf b;
  sb_init(&b);
  sb_puts(&b, "{\"Success\":false,\"Error\":");
  sb_put_json_string(&b, message);
  char tail[32];
  snprintf(tail, sizeof tail, ",\"ErrorCode\":%u}", (uint32_t)code);
  sb_puts(&b, tail);
  return sb_take(&b);
}

static char *hns_endpoint(const char *id_text) {
  char id[EMU_ID_LEN];
  emu_object *o = emu_parse_id(id_text, id) ? store_find(EMU_ENDPOINT, id) : NULL;
  if (!o) return hns_failure(HR_NOT_FOUND, "Element not found.");
  sbuf b;
  sb_init(&b);
  sb_puts(&b, "{\"Success\":true,\"Output\":{\"ID\":");
  sb_put_json_string(&b, o->id);
  const char *name = store_get_member(o, "Name");
  if (name) {
    sb_puts(&b, ",\"Name\":");
    sb_puts(&b, name);
  }
  sb_puts(&b, ",\"VirtualNetwork\":");
  sb_put_json_string(&b, o->network);
  sb_puts(&b, ",\"SharedContainers\":[");
  bool first = true;
  for (size_t i = 0; i < system_count; i++) {
    if (endpoint_index(systems[i], o->id) < 0) continue;
    if (!first) sb_putc(&b, ',');
    sb_put_json_string(&b, systems[i]->id);
    first = false;
  }
  sb_puts(&b, "]}}");
  return sb_take(&b);
}

static HRESULT hns_call(const WCHAR *wmethod, const WCHAR *wpath, WCHAR **response) {
  if (!wmethod || !wpath || !response) return E_POINTER;
  char *method = emu_utf16_to_utf8(wmethod);
  char *path = emu_utf16_to_utf8(wpath);
  char *answer = NULL;
  if (method && path && strcmp(method, "GET") == 0 && strncasecmp(path, "/endpoints/", 11) == 0) {
    answer = hns_endpoint(path + 11);
  } else if (method && path && strcmp(method, "GET") == 0 && strcasecmp(path, "/globals/version") == 0) {
    char text[96];
    snprintf(text, sizeof text, "{\"Success\":true,\"Output\":{\"Major\":%d,\"Minor\":%d}}", hns_major, hns_minor);
    answer = strdup(text);
  } else if (method && path) {
    char message[300];
    snprintf(message, sizeof message, "HNSCall %.16s %.200s is not emulated", method, path);
    answer = hns_failure(HCN_E_REQUEST_UNSUPPORTED, message);
  }
  *response = answer ? emu_export_utf16(answer) : NULL;
  free(answer);
  free(method);
  free(path);
  return *response ? S_OK : E_OUTOFMEMORY;
}

/* ---- exports: the vmcompute.dll surface ------------------------------------------------------ */

EXPORT HRESULT HNSCall(const WCHAR *method, const WCHAR *path, const WCHAR *request, WCHAR **response) {
  (void)request; /* only GET requests are emulated; they carry no body */
  if (response) *response = NULL;
  HRESULT hr;
  emu_lock();
  seed_from_environment();
  if (!emu_injected(__func__, response, &hr)) hr = hns_call(method, path, response);
  emu_unlock();
  return hr;
}

EXPORT HRESULT HcsOpenComputeSystem(const WCHAR *id, void **computeSystem, WCHAR **result) {
  if (computeSystem) *computeSystem = NULL;
  if (result) *result = NULL;
  HRESULT hr;
  emu_lock();
  seed_from_environment();
  if (!emu_injected(__func__, result, &hr)) hr = open_system(id, computeSystem, result);
  emu_unlock();
  return hr;
}

EXPORT HRESULT HcsModifyComputeSystem(void *computeSystem, const WCHAR *configuration, WCHAR **result) {
  if (result) *result = NULL;
  HRESULT hr;
  emu_lock();
  if (!emu_injected(__func__, result, &hr)) hr = modify_system(computeSystem, configuration, result);
  emu_unlock();
  return hr;
}

EXPORT HRESULT HcsCloseComputeSystem(void *computeSystem) {
  HRESULT hr = S_OK;
  emu_lock();
  long slot = handle_slot(computeSystem);
  if (emu_injected(__func__, NULL, &hr)) {
    /* an injected failure leaves the handle open, as a failed close would */
  } else if (slot < 0) {
    hr = E_HANDLE;
  } else {
    cs_handles[slot]->magic = 0;
    free(cs_handles[slot]);
    cs_handles[slot] = cs_handles[--cs_handle_count];
  }
  emu_unlock();
  return hr;
}

/* ---- test hooks (not part of vmcompute.dll) ---------------------------------------------------- */

/* Makes a running compute system (a container) with this ID; -1 when it exists or is not valid. */
EXPORT int32_t EmuCreateComputeSystem(const char *id) {
  emu_lock();
  seed_from_environment();
  int32_t r = cs_create(id);
  emu_unlock();
  return r;
}

/* Removes a compute system (the container stopped); its attachments go with it. -1 when unknown. */
EXPORT int32_t EmuRemoveComputeSystem(const char *id) {
  emu_lock();
  int32_t r = id ? cs_remove(id) : -1;
  emu_unlock();
  return r;
}

/* The version GET /globals/version reports until the next EmuReset. */
EXPORT void EmuSetHnsVersion(int32_t major, int32_t minor) {
  emu_lock();
  hns_major = major;
  hns_minor = minor;
  emu_unlock();
}
