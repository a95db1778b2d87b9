/* jsonnum.c: raw JSON number literals inside jansson values, and the encoder that unwraps them. */
#include "tgx/jsonnum.h"

#include <stdlib.h>
#include <string.h>

/* The prefix of a raw number's string value, and how jansson escapes it when dumping. */
static const char RAW_PREFIX[] = {'\0', 'N'};
static const char RAW_ESCAPED[] = "\"\\u0000N";

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool tgx_json_is_number_literal(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return false;
    if (s[i] == '0') {
        i++;
    } else if (is_digit(s[i])) {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i]))
            return false;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return false;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i == n;
}

json_t *tgx_json_rawnumn(const char *literal, size_t n)
{
    if (literal == NULL || !tgx_json_is_number_literal(literal, n))
        return json_null();
    char stack[96];
    char *buf = n + sizeof RAW_PREFIX <= sizeof stack ? stack : malloc(n + sizeof RAW_PREFIX);
    if (buf == NULL)
        return NULL;
    memcpy(buf, RAW_PREFIX, sizeof RAW_PREFIX);
    memcpy(buf + sizeof RAW_PREFIX, literal, n);
    json_t *j = json_stringn(buf, n + sizeof RAW_PREFIX);
    if (buf != stack)
        free(buf);
    return j;
}

json_t *tgx_json_rawnum(const char *literal)
{
    return tgx_json_rawnumn(literal, literal != NULL ? strlen(literal) : 0);
}

bool tgx_json_rawnum_text(const json_t *j, const char **literal, size_t *len)
{
    if (!json_is_string(j))
        return false;
    size_t n = json_string_length(j);
    const char *s = json_string_value(j);
    if (n <= sizeof RAW_PREFIX || memcmp(s, RAW_PREFIX, sizeof RAW_PREFIX) != 0)
        return false;
    if (literal != NULL)
        *literal = s + sizeof RAW_PREFIX;
    if (len != NULL)
        *len = n - sizeof RAW_PREFIX;
    return true;
}

char *tgx_json_dump(const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return NULL;
    /* "\u0000N<literal>" becomes <literal>: the literal has no quote or backslash, so the raw
     * string ends at the next quote; the output only shrinks, so unwrap in place */
    const size_t esc = sizeof RAW_ESCAPED - 1;
    char *r = strstr(text, RAW_ESCAPED);
    if (r == NULL)
        return text;
    char *w = r;
    while (*r != '\0') {
        if (strncmp(r, RAW_ESCAPED, esc) == 0) {
            r += esc;
            while (*r != '"' && *r != '\0')
                *w++ = *r++;
            if (*r == '"')
                r++;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return text;
}
