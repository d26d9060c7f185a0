/*
 * HCN emulator (test double, not Windows code): the in-memory object store. Holds networks,
 * endpoints and namespaces as the documents they were created with (top-level members kept as
 * compact JSON text), plus the relations HCN owns itself: an endpoint's network, the namespace
 * it is attached to, a namespace's compartment number. Renders an object back as HCN's query
 * answer and selects objects by a query Filter. It knows nothing of HRESULTs or handles; the
 * rules that decide what is allowed live in hcn_emulator.c.
 */
#ifndef CROSSCNI_EMU_STORE_H
#define CROSSCNI_EMU_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "emu_json.h"

typedef enum { EMU_NETWORK = 0, EMU_ENDPOINT = 1, EMU_NAMESPACE = 2 } emu_kind;

/* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" and its NUL: HCN's own spelling of an ID. */
#define EMU_ID_LEN 37

typedef struct {
  char *key;
  char *value; /* compact JSON text */
} emu_member;

typedef struct {
  emu_kind kind;
  char id[EMU_ID_LEN];
  emu_member *members;
  size_t member_count;
  char network[EMU_ID_LEN];   /* endpoints: the network they were created on */
  char namespace_[EMU_ID_LEN]; /* endpoints: the namespace attached to, "" when none */
  unsigned compartment;       /* namespaces: the compartment HCN would create */
} emu_object;

/* Normalises a GUID string (either case, optional braces) to HCN's spelling; false if not one. */
bool emu_parse_id(const char *text, char out[EMU_ID_LEN]);

emu_object *store_find(emu_kind kind, const char *id);
emu_object *store_find_by_name(emu_kind kind, const char *name);
emu_object *store_add(emu_kind kind, const char *id);
void store_remove(emu_object *o);
size_t store_count_endpoints_of_network(const char *network_id);
void store_detach_namespace(const char *namespace_id);
void store_reset(void);

/* Replaces or adds a top-level member; `value` is compact JSON text (copied). */
bool store_set_member(emu_object *o, const char *key, const char *value);
void store_delete_member(emu_object *o, const char *key);
const char *store_get_member(const emu_object *o, const char *key);

/* The object as HCN's query answer: malloc'd JSON text. */
char *store_render(const emu_object *o);
/*
 * A JSON array of the IDs of `kind` matching `filter` (an object span; NULL for all):
 * "ID", "VirtualNetwork"/"HostComputeNetwork" and "HostComputeNamespace" match the relations,
 * any other key matches a top-level member with an equal value.
 */
char *store_list_ids(emu_kind kind, const jspan *filter);

#endif
