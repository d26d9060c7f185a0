/*
 * HCN emulator (test double, not Windows code): JSON syntax checking and span iteration.
 * See emu_json.h for the job and its limits. Malformed input is reported, never repaired:
 * the emulator answers it the way HCN answers a bad document, with an error HRESULT.
 */
#include "emu_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Deep enough for every HCN document; bounded so hostile input cannot exhaust the stack. */
#define MAX_DEPTH 64

void sb_init(sbuf *b) { memset(b, 0, sizeof *b); }

static void sb_reserve(sbuf *b, size_t extra) {
  if (b->oom || b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1) cap *= 2;
  char *data = realloc(b->data, cap);
  if (!data) {
    b->oom = true;
    return;
  }
  b->data = data;
  b->cap = cap;
}

void sb_putn(sbuf *b, const char *s, size_t n) {
  sb_reserve(b, n);
  if (b->oom) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

void sb_putc(sbuf *b, char c) { sb_putn(b, &c, 1); }

void sb_put_json_string(sbuf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  sb_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': sb_puts(b, "\\\""); break;
      case '\\': sb_puts(b, "\\\\"); break;
      case '\n': sb_puts(b, "\\n"); break;
      case '\r': sb_puts(b, "\\r"); break;
      case '\t': sb_puts(b, "\\t"); break;
      default:
        if (*p < 0x20) {
          char esc[7] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], 0};
          sb_puts(b, esc);
        } else {
          sb_putc(b, (char)*p);
        }
    }
  }
  sb_putc(b, '"');
}

char *sb_take(sbuf *b) {
  if (b->oom) {
    sb_free(b);
    return NULL;
  }
  if (!b->data) return strdup("");
  char *out = b->data;
  sb_init(b);
  return out;
}

void sb_free(sbuf *b) {
  free(b->data);
  sb_init(b);
}

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static const char *skip_string(const char *p, const char *end) {
  for (p++; p < end; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"') return p + 1;
    if (c < 0x20) return NULL;
    if (c != '\\') continue;
    if (++p >= end) return NULL;
    if (strchr("\"\\/bfnrt", *p) && *p) continue;
    if (*p != 'u' || end - p < 5) return NULL;
    for (int i = 1; i <= 4; i++)
      if (hex_digit(p[i]) < 0) return NULL;
    p += 4;
  }
  return NULL;
}

static const char *skip_digits(const char *p, const char *end) {
  const char *start = p;
  while (p < end && *p >= '0' && *p <= '9') p++;
  return p == start ? NULL : p;
}

static const char *skip_number(const char *p, const char *end) {
  if (p < end && *p == '-') p++;
  if (p < end && *p == '0') {
    p++;
  } else if (!(p = skip_digits(p, end))) {
    return NULL;
  }
  if (p < end && *p == '.' && !(p = skip_digits(p + 1, end))) return NULL;
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (!(p = skip_digits(p, end))) return NULL;
  }
  return p;
}

static const char *skip_literal(const char *p, const char *end, const char *word) {
  size_t n = strlen(word);
  return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

static const char *skip_value(const char *p, const char *end, int depth);

static const char *skip_container(const char *p, const char *end, int depth, char close) {
  p = skip_ws(p + 1, end);
  if (p < end && *p == close) return p + 1;
  for (;;) {
    if (close == '}') {
      if (p >= end || *p != '"' || !(p = skip_string(p, end))) return NULL;
      p = skip_ws(p, end);
      if (p >= end || *p != ':') return NULL;
      p++;
    }
    if (!(p = skip_value(p, end, depth + 1))) return NULL;
    p = skip_ws(p, end);
    if (p >= end) return NULL;
    if (*p == close) return p + 1;
    if (*p != ',') return NULL;
    p = skip_ws(p + 1, end);
  }
}

static const char *skip_value(const char *p, const char *end, int depth) {
  if (depth > MAX_DEPTH) return NULL;
  p = skip_ws(p, end);
  if (p >= end) return NULL;
  switch (*p) {
    case '{': return skip_container(p, end, depth, '}');
    case '[': return skip_container(p, end, depth, ']');
    case '"': return skip_string(p, end);
    case 't': return skip_literal(p, end, "true");
    case 'f': return skip_literal(p, end, "false");
    case 'n': return skip_literal(p, end, "null");
    default: return skip_number(p, end);
  }
}

bool json_valid(const char *text, size_t len, jspan *value) {
  const char *end = text + len;
  const char *start = skip_ws(text, end);
  const char *after = skip_value(start, end, 0);
  if (!after || skip_ws(after, end) != end) return false;
  if (value) *value = (jspan){start, (size_t)(after - start)};
  return true;
}

static bool begin(jspan v, char open, json_iter *it) {
  if (v.len < 2 || v.start[0] != open) return false;
  *it = (json_iter){v.start + 1, v.start + v.len - 1, true};
  return true;
}

bool json_object_begin(jspan obj, json_iter *it) { return begin(obj, '{', it); }

bool json_array_begin(jspan arr, json_iter *it) { return begin(arr, '[', it); }

/* Spans come from validated text, so iteration can trust the syntax. */
static bool next_item(json_iter *it) {
  it->p = skip_ws(it->p, it->end);
  if (!it->first) {
    if (it->p >= it->end || *it->p != ',') return false;
    it->p = skip_ws(it->p + 1, it->end);
  }
  it->first = false;
  return it->p < it->end;
}

int json_array_next(json_iter *it, jspan *value) {
  if (!next_item(it)) return 0;
  const char *after = skip_value(it->p, it->end, 0);
  if (!after) return 0;
  *value = (jspan){it->p, (size_t)(after - it->p)};
  it->p = after;
  return 1;
}

int json_object_next(json_iter *it, char **key, jspan *value) {
  if (!next_item(it)) return 0;
  const char *key_end = skip_string(it->p, it->end);
  if (!key_end) return 0;
  *key = json_string((jspan){it->p, (size_t)(key_end - it->p)});
  const char *p = skip_ws(skip_ws(key_end, it->end) + 1, it->end);
  const char *after = skip_value(p, it->end, 0);
  if (!*key || !after) {
    free(*key);
    return 0;
  }
  *value = (jspan){p, (size_t)(after - p)};
  it->p = after;
  return 1;
}

bool json_member(jspan obj, const char *key, jspan *value) {
  json_iter it;
  char *k;
  jspan v;
  if (!json_object_begin(obj, &it)) return false;
  while (json_object_next(&it, &k, &v)) {
    bool match = strcmp(k, key) == 0;
    free(k);
    if (match) {
      *value = v;
      return true;
    }
  }
  return false;
}

void sb_put_code_point(sbuf *b, unsigned long cp) {
  char out[4];
  size_t n = 0;
  if (cp < 0x80) {
    out[n++] = (char)cp;
  } else if (cp < 0x800) {
    out[n++] = (char)(0xC0 | (cp >> 6));
    out[n++] = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out[n++] = (char)(0xE0 | (cp >> 12));
    out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[n++] = (char)(0x80 | (cp & 0x3F));
  } else {
    out[n++] = (char)(0xF0 | (cp >> 18));
    out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[n++] = (char)(0x80 | (cp & 0x3F));
  }
  sb_putn(b, out, n);
}

static uint32_t hex4(const char *p) {
  return (uint32_t)(hex_digit(p[0]) << 12 | hex_digit(p[1]) << 8 | hex_digit(p[2]) << 4 | hex_digit(p[3]));
}

char *json_string(jspan v) {
  if (v.len < 2 || v.start[0] != '"') return NULL;
  sbuf b;
  sb_init(&b);
  const char *end = v.start + v.len - 1;
  for (const char *p = v.start + 1; p < end; p++) {
    if (*p != '\\') {
      sb_putc(&b, *p);
      continue;
    }
    p++;
    switch (*p) {
      case 'b': sb_putc(&b, '\b'); break;
      case 'f': sb_putc(&b, '\f'); break;
      case 'n': sb_putc(&b, '\n'); break;
      case 'r': sb_putc(&b, '\r'); break;
      case 't': sb_putc(&b, '\t'); break;
      case 'u': {
        uint32_t cp = hex4(p + 1);
        p += 4;
        /* A surrogate pair is one code point; a lone surrogate becomes U+FFFD. */
        if (cp >= 0xD800 && cp < 0xDC00 && end - p > 6 && p[1] == '\\' && p[2] == 'u') {
          uint32_t low = hex4(p + 3);
          if (low >= 0xDC00 && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
          }
        }
        if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;
        sb_put_code_point(&b, cp);
        break;
      }
      default: sb_putc(&b, *p);
    }
  }
  return sb_take(&b);
}

bool json_int(jspan v, long long *out) {
  if (v.len == 0 || v.len > 19) return false;
  char buf[24];
  memcpy(buf, v.start, v.len);
  buf[v.len] = '\0';
  char *endp;
  long long n = strtoll(buf, &endp, 10);
  if (*endp != '\0') return false;
  *out = n;
  return true;
}

char *json_compact(jspan v) {
  sbuf b;
  sb_init(&b);
  bool in_string = false;
  for (const char *p = v.start; p < v.start + v.len; p++) {
    if (in_string) {
      sb_putc(&b, *p);
      if (*p == '\\') {
        sb_putc(&b, *++p);
      } else if (*p == '"') {
        in_string = false;
      }
    } else if (*p == '"') {
      in_string = true;
      sb_putc(&b, *p);
    } else if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      sb_putc(&b, *p);
    }
  }
  return sb_take(&b);
}

bool json_is_object(jspan v) { return v.len >= 2 && v.start[0] == '{'; }

bool json_is_array(jspan v) { return v.len >= 2 && v.start[0] == '['; }
