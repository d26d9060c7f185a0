/*
 * HCN EMULATOR — a test double for computenetwork.dll on Linux. Not Windows code, not a model
 * of HNS internals, never shipped: it exists so the FFI transport runs for real in tests.
 *
 * It exports the same function names and C signatures as computenetwork.dll (HcnEnumerate/
 * Create/Open/Modify/Query/Delete/Close for networks, endpoints and namespaces: GUIDs by
 * pointer, UTF-16 strings in, caller-freed UTF-16 strings out, opaque handles) and ole32's
 * CoTaskMemFree (emu_mem.c), keeps objects in memory (emu_store.c), and answers every failure
 * with an HRESULT plus an error record, as HNS does. Rules it enforces:
 *   create with an ID that exists            -> 0x800700B7 HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)
 *   create with the zero GUID                -> a new ID is chosen
 *   network Name already used                -> 0x803B0010 HCN_E_NETWORK_ALREADY_EXISTS
 *   network Type not one of HCN's types      -> 0x803B000B HCN_E_INVALID_NETWORK_TYPE
 *   policy without / with an unknown Type    -> 0x803B000D / 0x803B000E HCN_E_INVALID_POLICY(_TYPE)
 *   open, delete, query of an unknown ID     -> 0x80070490 HRESULT_FROM_WIN32(ERROR_NOT_FOUND)
 *   endpoint create on a closed/stale handle -> 0x80070006 E_HANDLE / 0x80070490
 *   delete a network that has endpoints      -> 0x803B002C HCN_E_ENTITY_HAS_REFERENCES *
 *   attach an unknown endpoint               -> 0x80070490
 *   attach an endpoint already in a namespace-> 0x803B002B HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS
 *   detach an endpoint not attached there    -> 0x80070490 *
 *   remove a policy the endpoint lacks       -> 0x803B0008 HCN_E_POLICY_NOT_FOUND
 *   malformed JSON                           -> 0x803B001B HCN_E_INVALID_JSON
 *   SchemaVersion other than 2.x             -> 0x80070057 E_INVALIDARG
 *   a modify request it does not know        -> 0x803B0015 HCN_E_REQUEST_UNSUPPORTED
 * Codes and meanings are from Microsoft's "HCN Error Code" reference; rows marked * are
 * emulator choices where HCN's exact answer is undocumented. Deleting an endpoint or a
 * namespace silently detaches, and an endpoint created without a MAC gets one (emulator choices).
 * Deleting an endpoint still attached to a compute system -> 0x803B002C *, and adding such an
 * endpoint to a namespace -> 0x803B002B * (hcs_emulator.c has the vmcompute.dll side).
 * Test hooks: EmuReset, EmuFailNext, EmuOutstandingAllocations, EmuBadFrees, EmuOpenHandles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_core.h"
#include "emu_hcs.h"
#include "emu_policy.h"

static const char *const NETWORK_TYPES[] = {"NAT", "ICS", "Transparent", "L2Bridge", "L2Tunnel", "Overlay", "Private", NULL};
/* Policy types as hcsshim's hcn/hcnpolicy.go names them. */
static const char *const NETWORK_POLICY_TYPES[] = {"SourceMacAddress", "NetAdapterName",      "VSwitchExtension",
                                                   "DrMacAddress",     "AutomaticDNS",        "InterfaceConstraint",
                                                   "ProviderAddress",  "RemoteSubnetRoute",   "HostRoute",
                                                   NULL};
static const char *const ENDPOINT_POLICY_TYPES[] = {"PortMapping", "ACL",           "QOS",
                                                    "L2Driver",    "OutBoundNAT",   "SDNRoute",
                                                    "L4Proxy",     "L4WFPPROXY",    "PortName",
                                                    "EncapOverhead", "ProviderAddress", "InterfaceConstraint",
                                                    NULL};
static const char *const NAMESPACE_TYPES[] = {"Host", "HostDefault", "Guest", "GuestDefault", NULL};

/* Members of a create document that HCN owns and reports itself, so they are not stored. */
static const char *const OWNED_NETWORK[] = {"ID", NULL};
static const char *const OWNED_ENDPOINT[] = {"ID", "HostComputeNetwork", "HostComputeNamespace", NULL};
static const char *const OWNED_NAMESPACE[] = {"ID", "NamespaceId", "Resources", NULL};

/* ---- document rules ------------------------------------------------------------------- */

/* A string member, if present, must be one of `allowed`. */
static HRESULT check_enum(jspan root, const char *key, const char *const *allowed, HRESULT bad, const char *what,
                          WCHAR **er) {
  jspan v;
  if (!json_member(root, key, &v)) return S_OK;
  char *s = json_string(v);
  HRESULT hr = s && emu_string_in(s, allowed) ? S_OK : emu_fail(er, bad, "%s: %s %.*s is not valid", what, key, (int)v.len, v.start);
  free(s);
  return hr;
}

static HRESULT keep_members(emu_object *o, jspan root, const char *const *owned, WCHAR **er) {
  json_iter it;
  char *key;
  jspan value;
  json_object_begin(root, &it);
  while (json_object_next(&it, &key, &value)) {
    char *compact = emu_string_in(key, owned) ? NULL : json_compact(value);
    bool ok = !compact || store_set_member(o, key, compact);
    free(compact);
    free(key);
    if (!ok) return emu_fail(er, E_OUTOFMEMORY, "out of memory");
  }
  return S_OK;
}

/* ---- generic operations ------------------------------------------------------------------ */

static HRESULT enumerate(emu_kind kind, const WCHAR *query, WCHAR **list, WCHAR **er) {
  if (!list) return emu_fail(er, E_POINTER, "HcnEnumerate: the output pointer is NULL");
  emu_doc q;
  char *filter_text = NULL;
  jspan member, filter_root;
  const jspan *filter = NULL;
  HRESULT hr = emu_read_doc(query, true, SCHEMA_IF_PRESENT, "query", &q, er);
  if (hr >= 0 && json_member(q.root, "Filter", &member)) {
    /* The Filter is itself JSON, carried as a string (hcn.md, "Query document"). */
    filter_text = json_string(member);
    if (!filter_text) {
      hr = emu_fail(er, E_INVALIDARG, "query: Filter must be a string holding a JSON object");
    } else if (filter_text[0]) {
      if (json_valid(filter_text, strlen(filter_text), &filter_root) && json_is_object(filter_root)) {
        filter = &filter_root;
      } else {
        hr = emu_fail(er, HCN_E_INVALID_JSON, "query: Filter is not a JSON object");
      }
    }
  }
  if (hr >= 0) {
    char *ids = store_list_ids(kind, filter);
    *list = ids ? emu_export_utf16(ids) : NULL;
    hr = *list ? S_OK : emu_fail(er, E_OUTOFMEMORY, "out of memory");
    free(ids);
  }
  free(filter_text);
  emu_doc_free(&q);
  return hr;
}

static HRESULT open_object(emu_kind kind, const GUID *id, void **handle, WCHAR **er) {
  if (!id || !handle) return emu_fail(er, E_POINTER, "HcnOpen: a required pointer is NULL");
  char text[EMU_ID_LEN];
  emu_format_guid(id, text);
  if (!store_find(kind, text)) return emu_fail(er, HR_NOT_FOUND, "%s %s not found", EMU_KIND_NAME[kind], text);
  *handle = emu_handle_new(kind, text);
  return *handle ? S_OK : emu_fail(er, E_OUTOFMEMORY, "out of memory");
}

static HRESULT query_object(emu_kind kind, void *handle, const WCHAR *query, WCHAR **properties, WCHAR **er) {
  if (!properties) return emu_fail(er, E_POINTER, "HcnQuery: the output pointer is NULL");
  emu_object *o;
  HRESULT hr = emu_handle_object(handle, kind, &o, er);
  if (hr < 0) return hr;
  emu_doc q;
  hr = emu_read_doc(query, true, SCHEMA_IF_PRESENT, "query", &q, er);
  if (hr >= 0) {
    char *text = store_render(o);
    *properties = text ? emu_export_utf16(text) : NULL;
    hr = *properties ? S_OK : emu_fail(er, E_OUTOFMEMORY, "out of memory");
    free(text);
  }
  emu_doc_free(&q);
  return hr;
}

static HRESULT delete_object(emu_kind kind, const GUID *id, WCHAR **er) {
  if (!id) return emu_fail(er, E_POINTER, "HcnDelete: the ID pointer is NULL");
  char text[EMU_ID_LEN];
  emu_format_guid(id, text);
  emu_object *o = store_find(kind, text);
  if (!o) return emu_fail(er, HR_NOT_FOUND, "%s %s not found", EMU_KIND_NAME[kind], text);
  if (kind == EMU_NETWORK && store_count_endpoints_of_network(o->id) > 0)
    return emu_fail(er, HCN_E_ENTITY_HAS_REFERENCES, "network %s still has %zu endpoint(s)", o->id,
                    store_count_endpoints_of_network(o->id));
  if (kind == EMU_ENDPOINT && emu_hcs_attachments_of_endpoint(o->id) > 0)
    return emu_fail(er, HCN_E_ENTITY_HAS_REFERENCES, "endpoint %s is still attached to %zu compute system(s)", o->id,
                    emu_hcs_attachments_of_endpoint(o->id));
  if (kind == EMU_NAMESPACE) store_detach_namespace(o->id);
  store_remove(o);
  return S_OK;
}

/* Creates the object after its kind's checks passed; `*o` is the new object. */
static HRESULT create_object(emu_kind kind, const GUID *id, emu_doc *d, const char *const *owned, emu_object **o,
                             void **handle, WCHAR **er) {
  char text[EMU_ID_LEN];
  emu_choose_id(id, text);
  if (store_find(kind, text)) return emu_fail(er, HR_ALREADY_EXISTS, "%s %s already exists", EMU_KIND_NAME[kind], text);
  *o = store_add(kind, text);
  if (!*o) return emu_fail(er, E_OUTOFMEMORY, "out of memory");
  HRESULT hr = keep_members(*o, d->root, owned, er);
  if (hr >= 0) {
    *handle = emu_handle_new(kind, text);
    if (!*handle) hr = emu_fail(er, E_OUTOFMEMORY, "out of memory");
  }
  if (hr < 0) store_remove(*o);
  return hr;
}

/* ---- kinds ------------------------------------------------------------------------------- */

static HRESULT create_network(const GUID *id, const WCHAR *settings, void **handle, WCHAR **er) {
  if (!id || !handle) return emu_fail(er, E_POINTER, "HcnCreateNetwork: a required pointer is NULL");
  emu_doc d;
  jspan v;
  emu_object *o;
  HRESULT hr = emu_read_doc(settings, false, SCHEMA_REQUIRED, "network settings", &d, er);
  if (hr >= 0) hr = check_enum(d.root, "Type", NETWORK_TYPES, HCN_E_INVALID_NETWORK_TYPE, "network settings", er);
  if (hr >= 0 && json_member(d.root, "Policies", &v)) hr = emu_check_policies(v, NETWORK_POLICY_TYPES, "network settings", er);
  if (hr >= 0 && json_member(d.root, "Name", &v)) {
    char *name = json_string(v);
    if (!name) {
      hr = emu_fail(er, E_INVALIDARG, "network settings: Name must be a string");
    } else if (store_find_by_name(EMU_NETWORK, name)) {
      hr = emu_fail(er, HCN_E_NETWORK_ALREADY_EXISTS, "a network named \"%s\" already exists", name);
    }
    free(name);
  }
  if (hr >= 0) hr = create_object(EMU_NETWORK, id, &d, OWNED_NETWORK, &o, handle, er);
  emu_doc_free(&d);
  return hr;
}

static HRESULT create_endpoint(void *network, const GUID *id, const WCHAR *settings, void **handle, WCHAR **er) {
  if (!id || !handle) return emu_fail(er, E_POINTER, "HcnCreateEndpoint: a required pointer is NULL");
  emu_object *net, *o;
  HRESULT hr = emu_handle_object(network, EMU_NETWORK, &net, er);
  if (hr < 0) return hr;
  emu_doc d;
  jspan v;
  hr = emu_read_doc(settings, false, SCHEMA_REQUIRED, "endpoint settings", &d, er);
  if (hr >= 0 && json_member(d.root, "Policies", &v)) hr = emu_check_policies(v, ENDPOINT_POLICY_TYPES, "endpoint settings", er);
  if (hr >= 0 && json_member(d.root, "HostComputeNetwork", &v)) {
    char *s = json_string(v);
    char norm[EMU_ID_LEN];
    if (!s || !emu_parse_id(s, norm) || strcmp(norm, net->id) != 0)
      hr = emu_fail(er, E_INVALIDARG, "endpoint settings: HostComputeNetwork %.*s is not the network %s it is created on",
                    (int)v.len, v.start, net->id);
    free(s);
  }
  if (hr >= 0) hr = create_object(EMU_ENDPOINT, id, &d, OWNED_ENDPOINT, &o, handle, er);
  if (hr >= 0) memcpy(o->network, net->id, EMU_ID_LEN);
  if (hr >= 0 && !store_get_member(o, "MacAddress")) {
    /* HNS gives an endpoint without a MAC one from the network's pool; 00-15-5D is Hyper-V's prefix. */
    char mac[32];
    uint64_t r = emu_random();
    snprintf(mac, sizeof mac, "\"00-15-5D-%02X-%02X-%02X\"", (unsigned)(r & 0xFF), (unsigned)((r >> 8) & 0xFF),
             (unsigned)((r >> 16) & 0xFF));
    if (!store_set_member(o, "MacAddress", mac)) hr = emu_fail(er, E_OUTOFMEMORY, "out of memory");
  }
  emu_doc_free(&d);
  return hr;
}

static HRESULT create_namespace(const GUID *id, const WCHAR *settings, void **handle, WCHAR **er) {
  if (!id || !handle) return emu_fail(er, E_POINTER, "HcnCreateNamespace: a required pointer is NULL");
  emu_doc d;
  emu_object *o;
  HRESULT hr = emu_read_doc(settings, false, SCHEMA_REQUIRED, "namespace settings", &d, er);
  if (hr >= 0) hr = check_enum(d.root, "Type", NAMESPACE_TYPES, E_INVALIDARG, "namespace settings", er);
  if (hr >= 0) hr = create_object(EMU_NAMESPACE, id, &d, OWNED_NAMESPACE, &o, handle, er);
  emu_doc_free(&d);
  return hr;
}

static HRESULT modify_policies(emu_kind kind, void *handle, const WCHAR *settings, const char *const *types, WCHAR **er) {
  emu_object *o;
  HRESULT hr = emu_handle_object(handle, kind, &o, er);
  if (hr < 0) return hr;
  emu_doc d;
  hr = emu_read_doc(settings, false, SCHEMA_IGNORED, "modify request", &d, er);
  if (hr >= 0) {
    hr = emu_member_equals(d.root, "ResourceType", "Policy")
             ? emu_edit_policies(o, d.root, types, er)
             : emu_fail(er, HCN_E_REQUEST_UNSUPPORTED, "modify %s: only ResourceType Policy is emulated", EMU_KIND_NAME[kind]);
  }
  emu_doc_free(&d);
  return hr;
}

static HRESULT modify_namespace(void *handle, const WCHAR *settings, WCHAR **er) {
  emu_object *ns, *ep;
  HRESULT hr = emu_handle_object(handle, EMU_NAMESPACE, &ns, er);
  if (hr < 0) return hr;
  emu_doc d;
  jspan s, v;
  char *text = NULL;
  char id[EMU_ID_LEN];
  hr = emu_read_doc(settings, false, SCHEMA_IGNORED, "modify request", &d, er);
  bool add = hr >= 0 && emu_member_equals(d.root, "RequestType", "Add");
  bool remove = hr >= 0 && emu_member_equals(d.root, "RequestType", "Remove");
  if (hr >= 0 && (!emu_member_equals(d.root, "ResourceType", "Endpoint") || (!add && !remove))) {
    hr = emu_fail(er, HCN_E_REQUEST_UNSUPPORTED, "modify namespace: only Endpoint Add/Remove is emulated");
  } else if (hr >= 0 && (!json_member(d.root, "Settings", &s) || !json_member(s, "EndpointId", &v) ||
                         !(text = json_string(v)) || !emu_parse_id(text, id))) {
    hr = emu_fail(er, E_INVALIDARG, "modify namespace: Settings.EndpointId must be an endpoint GUID");
  } else if (hr >= 0 && !(ep = store_find(EMU_ENDPOINT, id))) {
    hr = emu_fail(er, HR_NOT_FOUND, "endpoint %s not found", id);
  } else if (hr >= 0 && add && emu_hcs_attachments_of_endpoint(id) > 0) {
    hr = emu_fail(er, HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, "endpoint %s is attached to a compute system", id);
  } else if (hr >= 0 && add && ep->namespace_[0]) {
    hr = emu_fail(er, HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, "endpoint %s is already in namespace %s", id, ep->namespace_);
  } else if (hr >= 0 && remove && strcmp(ep->namespace_, ns->id) != 0) {
    hr = emu_fail(er, HR_NOT_FOUND, "endpoint %s is not attached to namespace %s", id, ns->id);
  } else if (hr >= 0) {
    memcpy(ep->namespace_, add ? ns->id : "", add ? EMU_ID_LEN : 1);
  }
  free(text);
  emu_doc_free(&d);
  return hr;
}

/* ---- exports: the computenetwork.dll surface ---------------------------------------------- */

/* Clears the outputs as HCN does, runs `call` under the lock unless a failure was injected. */
#define API(er, ...)                                          \
  do {                                                        \
    HRESULT hr_;                                              \
    if (er) *(er) = NULL;                                     \
    emu_lock();                                               \
    if (!emu_injected(__func__, er, &hr_)) hr_ = __VA_ARGS__; \
    emu_unlock();                                             \
    return hr_;                                               \
  } while (0)

#define CLOSE(kind, handle)                               \
  do {                                                    \
    HRESULT hr_;                                          \
    emu_lock();                                           \
    if (!emu_injected(__func__, NULL, &hr_)) hr_ = emu_handle_close(handle, kind); \
    emu_unlock();                                         \
    return hr_;                                           \
  } while (0)

#define CLEAR(p) \
  if (p) *(p) = NULL

EXPORT HRESULT HcnEnumerateNetworks(const WCHAR *query, WCHAR **networks, WCHAR **er) {
  CLEAR(networks);
  API(er, enumerate(EMU_NETWORK, query, networks, er));
}
EXPORT HRESULT HcnCreateNetwork(const GUID *id, const WCHAR *settings, void **network, WCHAR **er) {
  CLEAR(network);
  API(er, create_network(id, settings, network, er));
}
EXPORT HRESULT HcnOpenNetwork(const GUID *id, void **network, WCHAR **er) {
  CLEAR(network);
  API(er, open_object(EMU_NETWORK, id, network, er));
}
EXPORT HRESULT HcnModifyNetwork(void *network, const WCHAR *settings, WCHAR **er) {
  API(er, modify_policies(EMU_NETWORK, network, settings, NETWORK_POLICY_TYPES, er));
}
EXPORT HRESULT HcnQueryNetworkProperties(void *network, const WCHAR *query, WCHAR **properties, WCHAR **er) {
  CLEAR(properties);
  API(er, query_object(EMU_NETWORK, network, query, properties, er));
}
EXPORT HRESULT HcnDeleteNetwork(const GUID *id, WCHAR **er) { API(er, delete_object(EMU_NETWORK, id, er)); }
EXPORT HRESULT HcnCloseNetwork(void *network) { CLOSE(EMU_NETWORK, network); }

EXPORT HRESULT HcnEnumerateEndpoints(const WCHAR *query, WCHAR **endpoints, WCHAR **er) {
  CLEAR(endpoints);
  API(er, enumerate(EMU_ENDPOINT, query, endpoints, er));
}
EXPORT HRESULT HcnCreateEndpoint(void *network, const GUID *id, const WCHAR *settings, void **endpoint, WCHAR **er) {
  CLEAR(endpoint);
  API(er, create_endpoint(network, id, settings, endpoint, er));
}
EXPORT HRESULT HcnOpenEndpoint(const GUID *id, void **endpoint, WCHAR **er) {
  CLEAR(endpoint);
  API(er, open_object(EMU_ENDPOINT, id, endpoint, er));
}
EXPORT HRESULT HcnModifyEndpoint(void *endpoint, const WCHAR *settings, WCHAR **er) {
  API(er, modify_policies(EMU_ENDPOINT, endpoint, settings, ENDPOINT_POLICY_TYPES, er));
}
EXPORT HRESULT HcnQueryEndpointProperties(void *endpoint, const WCHAR *query, WCHAR **properties, WCHAR **er) {
  CLEAR(properties);
  API(er, query_object(EMU_ENDPOINT, endpoint, query, properties, er));
}
EXPORT HRESULT HcnDeleteEndpoint(const GUID *id, WCHAR **er) { API(er, delete_object(EMU_ENDPOINT, id, er)); }
EXPORT HRESULT HcnCloseEndpoint(void *endpoint) { CLOSE(EMU_ENDPOINT, endpoint); }

EXPORT HRESULT HcnEnumerateNamespaces(const WCHAR *query, WCHAR **namespaces, WCHAR **er) {
  CLEAR(namespaces);
  API(er, enumerate(EMU_NAMESPACE, query, namespaces, er));
}
EXPORT HRESULT HcnCreateNamespace(const GUID *id, const WCHAR *settings, void **ns, WCHAR **er) {
  CLEAR(ns);
  API(er, create_namespace(id, settings, ns, er));
}
EXPORT HRESULT HcnOpenNamespace(const GUID *id, void **ns, WCHAR **er) {
  CLEAR(ns);
  API(er, open_object(EMU_NAMESPACE, id, ns, er));
}
EXPORT HRESULT HcnModifyNamespace(void *ns, const WCHAR *settings, WCHAR **er) { API(er, modify_namespace(ns, settings, er)); }
EXPORT HRESULT HcnQueryNamespaceProperties(void *ns, const WCHAR *query, WCHAR **properties, WCHAR **er) {
  CLEAR(properties);
  API(er, query_object(EMU_NAMESPACE, ns, query, properties, er));
}
EXPORT HRESULT HcnDeleteNamespace(const GUID *id, WCHAR **er) { API(er, delete_object(EMU_NAMESPACE, id, er)); }
EXPORT HRESULT HcnCloseNamespace(void *ns) { CLOSE(EMU_NAMESPACE, ns); }

/* ---- test hooks (not part of computenetwork.dll) -------------------------------------------- */

/* Forgets every object, handle, armed failure and outstanding allocation. */
EXPORT void EmuReset(void) {
  emu_lock();
  store_reset();
  emu_handles_reset();
  emu_injections_reset();
  emu_hcs_reset();
  emu_mem_reset();
  emu_unlock();
}

/* The next call of `function` (e.g. "HcnCreateEndpoint") fails with `hr` and an error record. */
EXPORT void EmuFailNext(const char *function, HRESULT hr) {
  emu_lock();
  emu_inject(function, hr);
  emu_unlock();
}

/* Strings handed to callers and not yet released with CoTaskMemFree. */
EXPORT int32_t EmuOutstandingAllocations(void) { return (int32_t)emu_outstanding_allocations(); }

/* CoTaskMemFree calls on pointers the emulator never handed out (or already freed). */
EXPORT int32_t EmuBadFrees(void) { return (int32_t)emu_bad_frees(); }

/* Handles opened or created and not yet closed. */
EXPORT int32_t EmuOpenHandles(void) {
  emu_lock();
  int32_t n = (int32_t)(emu_open_handles() + emu_hcs_open_handles());
  emu_unlock();
  return n;
}
