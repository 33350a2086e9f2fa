#include "hybridfields.h"

#include "layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An object's end may be followed by alignment to 8 and an appended 4-byte
 * identity hash (23.1's optional hash), no more. */
#define MAX_TAIL 16

int hybrid_parts_of(const struct hybrid_class *c, const struct hybrid_field *f, size_t n,
		    struct hybrid_parts *p)
{
	memset(p, 0, sizeof *p);
	if (!le_is_hybrid(c->enc) || c->first_loc == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		const char **slot = f[i].short_elems ? &p->slots : &p->array;
		/* A field without storage that is no array, or two of a kind:
		 * the class is not laid out as this module knows. */
		if (!f[i].is_array || !f[i].name || *slot)
			return 1;
		*slot = f[i].name;
		if (!f[i].short_elems && f[i].elem_shift != le_shift(c->enc))
			return 1;
	}
	p->len_off = c->len_off;
	p->base = le_base(c->enc);
	p->shift = le_shift(c->enc);
	if (!p->array || p->len_off + 4 > c->first_loc || c->first_loc > p->base)
		return 1;
	if (!p->slots)
		return 0;
	/* The slots start right after the length, and the fields right after
	 * them: a gap of another size is not what the layout makes. */
	p->slots_off = p->len_off + 4;
	uint32_t gap = c->first_loc - p->slots_off;
	if (gap == 0 || gap % 2) /* first_loc <= base < 4096 bounds it */
		return 1;
	p->nslots = gap / 2;
	return 0;
}

bool hybrid_parts_agree(const struct hybrid_parts *p, const struct hybrid_obs *o, size_t n)
{
	size_t ends_known = 0;
	bool last_used = !p->slots;
	for (size_t i = 0; i < n; i++) {
		if (o[i].length < 0)
			return false;
		uint64_t size = p->base + ((uint64_t)o[i].length << p->shift);
		if (o[i].span) {
			if (size > o[i].span || o[i].span - size >= MAX_TAIL)
				return false;
			ends_known++;
		}
		last_used = last_used || o[i].last_slot != 0;
	}
	return ends_known > 0 && last_used;
}

void hybrid_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* FIELD's length (INDEX < 0: "FIELD.length") or element ("FIELD[INDEX]"). */
static char *name_of(const char *field, long index)
{
	size_t len = strlen(field) + 24; /* ".length", or "[" a long "]" */
	char *s = malloc(len);
	if (s && index < 0)
		snprintf(s, len, "%s.length", field);
	else if (s)
		snprintf(s, len, "%s[%ld]", field, index);
	return s;
}

int hybrid_names(const struct hybrid_parts *p, char ***names, size_t *n)
{
	*n = 0;
	*names = calloc(1 + (size_t)p->nslots, sizeof **names);
	if (!*names)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	(*names)[(*n)++] = name_of(p->array, -1);
	for (unsigned i = 0; i < p->nslots; i++)
		(*names)[(*n)++] = name_of(p->slots, (long)i);
	for (size_t i = 0; i < *n; i++)
		if (!(*names)[i]) {
			hybrid_names_free(*names, *n);
			*names = NULL;
			*n = 0;
			return hd_fail(HD_E_INTERNAL, "out of memory");
		}
	return 0;
}
