/*
 * HCN emulator (test double, not Windows code): the object store. See emu_store.h.
 */
#include "emu_store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static emu_object **objects;
static size_t object_count;
static size_t object_cap;
static unsigned next_compartment = 2; /* 1 is the host's default compartment on Windows. */

bool emu_parse_id(const char *text, char out[EMU_ID_LEN]) {
  if (!text) return false;
  size_t len = strlen(text);
  if (len == 38 && text[0] == '{' && text[37] == '}') {
    text++;
    len = 36;
  }
  if (len != 36) return false;
  for (size_t i = 0; i < 36; i++) {
    char c = text[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !isxdigit((unsigned char)c)) return false;
    out[i] = (char)toupper((unsigned char)c);
  }
  out[36] = '\0';
  return true;
}

emu_object *store_find(emu_kind kind, const char *id) {
  char norm[EMU_ID_LEN];
  if (!emu_parse_id(id, norm)) return NULL;
  for (size_t i = 0; i < object_count; i++)
    if (objects[i]->kind == kind && strcmp(objects[i]->id, norm) == 0) return objects[i];
  return NULL;
}

emu_object *store_find_by_name(emu_kind kind, const char *name) {
  for (size_t i = 0; i < object_count; i++) {
    if (objects[i]->kind != kind) continue;
    const char *value = store_get_member(objects[i], "Name");
    if (!value) continue;
    char *decoded = json_string((jspan){value, strlen(value)});
    bool match = decoded && strcmp(decoded, name) == 0;
    free(decoded);
    if (match) return objects[i];
  }
  return NULL;
}

emu_object *store_add(emu_kind kind, const char *id) {
  if (object_count == object_cap) {
    size_t cap = object_cap ? object_cap * 2 : 16;
    emu_object **grown = realloc(objects, cap * sizeof *grown);
    if (!grown) return NULL;
    objects = grown;
    object_cap = cap;
  }
  emu_object *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  o->kind = kind;
  memcpy(o->id, id, EMU_ID_LEN);
  if (kind == EMU_NAMESPACE) o->compartment = next_compartment++;
  objects[object_count++] = o;
  return o;
}

static void free_object(emu_object *o) {
  for (size_t i = 0; i < o->member_count; i++) {
    free(o->members[i].key);
    free(o->members[i].value);
  }
  free(o->members);
  free(o);
}

void store_remove(emu_object *o) {
  for (size_t i = 0; i < object_count; i++) {
    if (objects[i] != o) continue;
    memmove(&objects[i], &objects[i + 1], (object_count - i - 1) * sizeof *objects);
    object_count--;
    free_object(o);
    return;
  }
}

size_t store_count_endpoints_of_network(const char *network_id) {
  size_t n = 0;
  for (size_t i = 0; i < object_count; i++)
    if (objects[i]->kind == EMU_ENDPOINT && strcmp(objects[i]->network, network_id) == 0) n++;
  return n;
}

void store_detach_namespace(const char *namespace_id) {
  for (size_t i = 0; i < object_count; i++)
    if (objects[i]->kind == EMU_ENDPOINT && strcmp(objects[i]->namespace_, namespace_id) == 0)
      objects[i]->namespace_[0] = '\0';
}

void store_reset(void) {
  for (size_t i = 0; i < object_count; i++) free_object(objects[i]);
  free(objects);
  objects = NULL;
  object_count = object_cap = 0;
  next_compartment = 2;
}

bool store_set_member(emu_object *o, const char *key, const char *value) {
  char *copy = strdup(value);
  if (!copy) return false;
  for (size_t i = 0; i < o->member_count; i++) {
    if (strcmp(o->members[i].key, key) == 0) {
      free(o->members[i].value);
      o->members[i].value = copy;
      return true;
    }
  }
  emu_member *grown = realloc(o->members, (o->member_count + 1) * sizeof *grown);
  char *key_copy = strdup(key);
  if (!grown || !key_copy) {
    if (grown) o->members = grown;
    free(copy);
    free(key_copy);
    return false;
  }
  o->members = grown;
  o->members[o->member_count++] = (emu_member){key_copy, copy};
  return true;
}

void store_delete_member(emu_object *o, const char *key) {
  for (size_t i = 0; i < o->member_count; i++) {
    if (strcmp(o->members[i].key, key) != 0) continue;
    free(o->members[i].key);
    free(o->members[i].value);
    memmove(&o->members[i], &o->members[i + 1], (o->member_count - i - 1) * sizeof *o->members);
    o->member_count--;
    return;
  }
}

const char *store_get_member(const emu_object *o, const char *key) {
  for (size_t i = 0; i < o->member_count; i++)
    if (strcmp(o->members[i].key, key) == 0) return o->members[i].value;
  return NULL;
}

static void put_key(sbuf *b, const char *key) {
  sb_putc(b, ',');
  sb_put_json_string(b, key);
  sb_putc(b, ':');
}

char *store_render(const emu_object *o) {
  sbuf b;
  sb_init(&b);
  sb_puts(&b, "{\"ID\":");
  sb_put_json_string(&b, o->id);
  if (o->kind == EMU_ENDPOINT) {
    put_key(&b, "HostComputeNetwork");
    sb_put_json_string(&b, o->network);
    if (o->namespace_[0]) {
      put_key(&b, "HostComputeNamespace");
      sb_put_json_string(&b, o->namespace_);
    }
  }
  if (o->kind == EMU_NAMESPACE) {
    char number[16];
    snprintf(number, sizeof number, "%u", o->compartment);
    put_key(&b, "NamespaceId");
    sb_puts(&b, number);
    put_key(&b, "Resources");
    sb_putc(&b, '[');
    bool first = true;
    for (size_t i = 0; i < object_count; i++) {
      if (objects[i]->kind != EMU_ENDPOINT || strcmp(objects[i]->namespace_, o->id) != 0) continue;
      sb_puts(&b, first ? "{\"Type\":\"Endpoint\",\"Data\":{\"ID\":" : ",{\"Type\":\"Endpoint\",\"Data\":{\"ID\":");
      sb_put_json_string(&b, objects[i]->id);
      sb_puts(&b, "}}");
      first = false;
    }
    sb_putc(&b, ']');
  }
  for (size_t i = 0; i < o->member_count; i++) {
    put_key(&b, o->members[i].key);
    sb_puts(&b, o->members[i].value);
  }
  sb_putc(&b, '}');
  return sb_take(&b);
}

static bool id_matches(const char *stored, jspan value) {
  char *text = json_string(value);
  char norm[EMU_ID_LEN];
  bool match = text && emu_parse_id(text, norm) && strcmp(norm, stored) == 0;
  free(text);
  return match;
}

static bool matches(const emu_object *o, const jspan *filter) {
  json_iter it;
  char *key;
  jspan value;
  if (!filter || !json_object_begin(*filter, &it)) return true;
  while (json_object_next(&it, &key, &value)) {
    bool match;
    if (strcmp(key, "ID") == 0) {
      match = id_matches(o->id, value);
    } else if (strcmp(key, "VirtualNetwork") == 0 || strcmp(key, "HostComputeNetwork") == 0) {
      match = o->kind == EMU_ENDPOINT && id_matches(o->network, value);
    } else if (strcmp(key, "HostComputeNamespace") == 0) {
      match = o->kind == EMU_ENDPOINT && id_matches(o->namespace_, value);
    } else {
      const char *stored = store_get_member(o, key);
      char *wanted = json_compact(value);
      match = stored && wanted && strcmp(stored, wanted) == 0;
      free(wanted);
    }
    free(key);
    if (!match) return false;
  }
  return true;
}

char *store_list_ids(emu_kind kind, const jspan *filter) {
  sbuf b;
  sb_init(&b);
  sb_putc(&b, '[');
  bool first = true;
  for (size_t i = 0; i < object_count; i++) {
    if (objects[i]->kind != kind || !matches(objects[i], filter)) continue;
    if (!first) sb_putc(&b, ',');
    sb_put_json_string(&b, objects[i]->id);
    first = false;
  }
  sb_putc(&b, ']');
  return sb_take(&b);
}
