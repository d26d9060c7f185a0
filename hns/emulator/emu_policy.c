/*
 * HCN emulator (test double, not Windows code): the Policies arrays of networks and endpoints —
 * checking that each policy names a known Type, and applying a modify request's policy Add,
 * Remove or Update all-or-nothing. It must not know which object kinds allow which requests;
 * hcn_emulator.c decides that.
 */
#include "emu_policy.h"

#include <stdlib.h>
#include <string.h>

HRESULT emu_check_policies(jspan policies, const char *const *types, const char *what, WCHAR **er) {
  json_iter it;
  jspan policy, type;
  if (!json_array_begin(policies, &it)) return emu_fail(er, HCN_E_INVALID_POLICY, "%s: Policies must be an array", what);
  while (json_array_next(&it, &policy)) {
    char *name = json_member(policy, "Type", &type) ? json_string(type) : NULL;
    if (!name) return emu_fail(er, HCN_E_INVALID_POLICY, "%s: a policy has no string Type", what);
    HRESULT hr = emu_string_in(name, types)
                     ? S_OK
                     : emu_fail(er, HCN_E_INVALID_POLICY_TYPE, "%s: unknown policy Type \"%s\"", what, name);
    free(name);
    if (hr < 0) return hr;
  }
  return S_OK;
}

static char *policy_type(const char *compact) {
  jspan v;
  return json_member((jspan){compact, strlen(compact)}, "Type", &v) ? json_string(v) : NULL;
}

typedef struct {
  char **items;
  size_t count;
} policy_list;

static void policy_list_free(policy_list *l) {
  for (size_t i = 0; i < l->count; i++) free(l->items[i]);
  free(l->items);
}

static bool policy_list_push(policy_list *l, char *item) {
  char **grown = item ? realloc(l->items, (l->count + 1) * sizeof *grown) : NULL;
  if (!grown) {
    free(item);
    return false;
  }
  l->items = grown;
  l->items[l->count++] = item;
  return true;
}

static void policy_list_drop(policy_list *l, size_t i) {
  free(l->items[i]);
  memmove(&l->items[i], &l->items[i + 1], (l->count - i - 1) * sizeof *l->items);
  l->count--;
}

/* Policy Add/Remove/Update on a network or an endpoint: all of the request applies, or none. */
HRESULT emu_edit_policies(emu_object *o, jspan request, const char *const *types, WCHAR **er) {
  jspan settings, policies, item;
  json_iter it;
  if (!json_member(request, "Settings", &settings) || !json_member(settings, "Policies", &policies))
    return emu_fail(er, E_INVALIDARG, "modify request: Settings.Policies is required");
  HRESULT hr = emu_check_policies(policies, types, "modify request", er);
  if (hr < 0) return hr;
  policy_list current = {0};
  const char *stored = store_get_member(o, "Policies");
  if (stored && json_array_begin((jspan){stored, strlen(stored)}, &it))
    while (json_array_next(&it, &item)) policy_list_push(&current, json_compact(item));
  bool add = emu_member_equals(request, "RequestType", "Add");
  bool remove = emu_member_equals(request, "RequestType", "Remove");
  bool update = emu_member_equals(request, "RequestType", "Update");
  if (!add && !remove && !update) hr = emu_fail(er, HCN_E_REQUEST_UNSUPPORTED, "modify request: unsupported RequestType");
  json_array_begin(policies, &it);
  while (hr >= 0 && json_array_next(&it, &item)) {
    char *wanted = json_compact(item);
    char *type = wanted ? policy_type(wanted) : NULL;
    size_t i = 0;
    if (remove) {
      while (i < current.count && strcmp(current.items[i], wanted) != 0) i++;
      if (i == current.count) {
        hr = emu_fail(er, HCN_E_POLICY_NOT_FOUND, "%s %s has no policy %s", EMU_KIND_NAME[o->kind], o->id, wanted);
      } else {
        policy_list_drop(&current, i);
      }
      free(wanted);
    } else {
      /* Update replaces the policies of the same Type (emulator choice; HCN's merge is undocumented). */
      while (update && type && i < current.count) {
        char *t = policy_type(current.items[i]);
        bool same = t && strcmp(t, type) == 0;
        free(t);
        if (same) {
          policy_list_drop(&current, i);
        } else {
          i++;
        }
      }
      if (!policy_list_push(&current, wanted)) hr = emu_fail(er, E_OUTOFMEMORY, "out of memory");
    }
    free(type);
  }
  if (hr >= 0) {
    sbuf b;
    sb_init(&b);
    sb_putc(&b, '[');
    for (size_t i = 0; i < current.count; i++) {
      if (i) sb_putc(&b, ',');
      sb_puts(&b, current.items[i]);
    }
    sb_putc(&b, ']');
    char *text = sb_take(&b);
    if (current.count == 0) {
      store_delete_member(o, "Policies");
    } else if (!text || !store_set_member(o, "Policies", text)) {
      hr = emu_fail(er, E_OUTOFMEMORY, "out of memory");
    }
    free(text);
  }
  policy_list_free(&current);
  return hr;
}

