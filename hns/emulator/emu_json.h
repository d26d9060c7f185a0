/*
 * HCN emulator (test double, not Windows code): the minimal JSON support the emulator needs
 * to validate and take apart HCN schema documents. Strict RFC 8259 syntax checking, member
 * and element iteration over spans of the original text, string decoding to UTF-8, and a
 * growable output buffer. It must not grow into a general JSON library: documents are kept
 * as text and only the keys the emulator's rules need are ever looked at.
 */
#ifndef CROSSCNI_EMU_JSON_H
#define CROSSCNI_EMU_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* A growable byte buffer; `oom` latches the first allocation failure. */
typedef struct {
  char *data;
  size_t len;
  size_t cap;
  bool oom;
} sbuf;

void sb_init(sbuf *b);
void sb_putn(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_putc(sbuf *b, char c);
/* Appends one Unicode code point as UTF-8. */
void sb_put_code_point(sbuf *b, unsigned long cp);
/* Appends `s` (UTF-8) as a quoted, escaped JSON string. */
void sb_put_json_string(sbuf *b, const char *s);
/* Returns the NUL-terminated contents (caller frees) and leaves the buffer empty; NULL on OOM. */
char *sb_take(sbuf *b);
void sb_free(sbuf *b);

/* A slice of a document's text: one JSON value, whitespace-trimmed. */
typedef struct {
  const char *start;
  size_t len;
} jspan;

/* True when `text` is exactly one JSON value (surrounding whitespace allowed). */
bool json_valid(const char *text, size_t len, jspan *value);

typedef struct {
  const char *p;
  const char *end;
  bool first;
} json_iter;

/* Iteration over an object's members / an array's elements of an already validated span. */
bool json_object_begin(jspan obj, json_iter *it);
/* 1: a member (key decoded into a malloc'd string the caller frees), 0: end. */
int json_object_next(json_iter *it, char **key, jspan *value);
bool json_array_begin(jspan arr, json_iter *it);
int json_array_next(json_iter *it, jspan *value);

/* The value of the first member named `key` (exact, case-sensitive as HCN's schema keys are). */
bool json_member(jspan obj, const char *key, jspan *value);
/* A string value decoded to malloc'd UTF-8; NULL when `v` is not a string. */
char *json_string(jspan v);
/* An integral number value; false for anything else. */
bool json_int(jspan v, long long *out);
/* The value with insignificant whitespace removed, malloc'd; used to compare values. */
char *json_compact(jspan v);
bool json_is_object(jspan v);
bool json_is_array(jspan v);

#endif
