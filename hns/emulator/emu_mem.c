/*
 * HCN emulator (test double, not Windows code): tracked caller-owned allocations and the
 * UTF-8/UTF-16 conversions at the emulator's edge. See emu_mem.h.
 */
#include "emu_mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "emu_json.h"

/* Separate from the API lock: CoTaskMemFree is called by the caller at any time. */
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static void **live;
static size_t live_count;
static size_t live_cap;
static size_t bad_frees;

char *emu_utf16_to_utf8(const emu_wchar *s) {
  if (!s) return NULL;
  sbuf b;
  sb_init(&b);
  for (; *s; s++) {
    uint32_t cp = *s;
    if (cp >= 0xD800 && cp < 0xDC00 && s[1] >= 0xDC00 && s[1] < 0xE000) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (uint32_t)(s[1] - 0xDC00);
      s++;
    } else if (cp >= 0xD800 && cp < 0xE000) {
      cp = 0xFFFD;
    }
    sb_put_code_point(&b, cp);
  }
  return sb_take(&b);
}

/* Decodes one UTF-8 sequence; invalid bytes become U+FFFD, one byte at a time. */
static uint32_t next_code_point(const unsigned char **pp) {
  const unsigned char *p = *pp;
  uint32_t cp;
  int extra;
  if (p[0] < 0x80) {
    *pp = p + 1;
    return p[0];
  } else if ((p[0] & 0xE0) == 0xC0) {
    cp = p[0] & 0x1F;
    extra = 1;
  } else if ((p[0] & 0xF0) == 0xE0) {
    cp = p[0] & 0x0F;
    extra = 2;
  } else if ((p[0] & 0xF8) == 0xF0) {
    cp = p[0] & 0x07;
    extra = 3;
  } else {
    *pp = p + 1;
    return 0xFFFD;
  }
  for (int i = 1; i <= extra; i++) {
    if ((p[i] & 0xC0) != 0x80) {
      *pp = p + 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  *pp = p + extra + 1;
  return cp;
}

static bool track(void *p) {
  if (live_count == live_cap) {
    size_t cap = live_cap ? live_cap * 2 : 64;
    void **grown = realloc(live, cap * sizeof *grown);
    if (!grown) return false;
    live = grown;
    live_cap = cap;
  }
  live[live_count++] = p;
  return true;
}

emu_wchar *emu_export_utf16(const char *utf8) {
  if (!utf8) return NULL;
  size_t units = 0;
  for (const unsigned char *p = (const unsigned char *)utf8; *p;) units += next_code_point(&p) >= 0x10000 ? 2 : 1;
  emu_wchar *out = malloc((units + 1) * sizeof *out);
  if (!out) return NULL;
  size_t i = 0;
  for (const unsigned char *p = (const unsigned char *)utf8; *p;) {
    uint32_t cp = next_code_point(&p);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out[i++] = (emu_wchar)(0xD800 + (cp >> 10));
      out[i++] = (emu_wchar)(0xDC00 + (cp & 0x3FF));
    } else {
      out[i++] = (emu_wchar)cp;
    }
  }
  out[i] = 0;
  pthread_mutex_lock(&mem_lock);
  bool tracked = track(out);
  pthread_mutex_unlock(&mem_lock);
  if (!tracked) {
    free(out);
    return NULL;
  }
  return out;
}

__attribute__((visibility("default"))) void CoTaskMemFree(void *p) {
  if (!p) return;
  pthread_mutex_lock(&mem_lock);
  for (size_t i = 0; i < live_count; i++) {
    if (live[i] == p) {
      live[i] = live[--live_count];
      pthread_mutex_unlock(&mem_lock);
      free(p);
      return;
    }
  }
  /* Not ours or already freed: count it for the tests instead of corrupting the heap. */
  bad_frees++;
  pthread_mutex_unlock(&mem_lock);
}

size_t emu_outstanding_allocations(void) {
  pthread_mutex_lock(&mem_lock);
  size_t n = live_count;
  pthread_mutex_unlock(&mem_lock);
  return n;
}

size_t emu_bad_frees(void) {
  pthread_mutex_lock(&mem_lock);
  size_t n = bad_frees;
  pthread_mutex_unlock(&mem_lock);
  return n;
}

void emu_mem_reset(void) {
  pthread_mutex_lock(&mem_lock);
  for (size_t i = 0; i < live_count; i++) free(live[i]);
  live_count = 0;
  bad_frees = 0;
  pthread_mutex_unlock(&mem_lock);
}
