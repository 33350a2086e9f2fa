/* Layout discovery (symbols/discover.c) on synthetic image heaps whose
 * ground truth is known (synthheap.h): discovery must find exactly the
 * generated layout, corrupt heaps must be rejected with HD_E_LAYOUT, and
 * random corruption must never crash: the fuzz cases check that discovery
 * rejects a mutated heap with the layout error or accepts one that the
 * class table and the census (hprof/census.c) can then read to its end. */
#include "../../symbols/heapwalk.h"
#include "../../common/hd_error.h"
#include "../../common/interrupt.h"
#include "../../hprof/census.h"
#include "../../symbols/classes.h"
#include "../../symbols/discover.h"
#include "synthheap.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

/* ---- Running discovery -------------------------------------------------- */

struct run {
	struct sh_heap h;
	hd_memview *mv;
	struct hd_layout L;
	uint64_t *hubs;
	size_t nhubs;
};

static void build(struct run *r, const struct sh_params *p)
{
	memset(r, 0, sizeof *r);
	cr_assert_eq(sh_build(p, &r->h), 0, "%s: the generator failed", p->name);
}

/* Discovery over the first SIZE bytes of the heap, as a view holding just
 * those bytes (a truncated file looks like that). */
static int discover(struct run *r, uint64_t size)
{
	free(r->hubs);
	r->hubs = NULL;
	r->nhubs = 0;
	mv_free(r->mv);
	r->mv = mv_new_local();
	cr_assert_not_null(r->mv);
	cr_assert_eq(mv_add_local(r->mv, r->h.start, r->h.data, size), 0);
	hd_error_clear();
	memset(&r->L, 0, sizeof r->L);
	return discover_layout(r->mv, r->h.start, size, &r->L, &r->hubs, &r->nhubs, NULL);
}

static void discover_ok(struct run *r)
{
	cr_assert_eq(discover(r, r->h.size), 0, "%s: discovery failed: %s", r->h.p.name,
		     hd_error_message());
}

static void finish(struct run *r)
{
	free(r->hubs);
	mv_free(r->mv);
	sh_free(&r->h);
}

/* The chunk source of an executable's image heap. */
static int image_chunks(void *ctx, struct hd_walker *w, hd_chunk_fn fn, void *fnctx)
{
	(void)ctx;
	return hw_image_chunks(w, fn, fnctx);
}

/* ---- Discovery finds exactly the generated layout ----------------------- */

#define SAME(field)                                                                  \
	cr_assert_eq((uint64_t)got->field, (uint64_t)want->field,                   \
		     "%s: " #field " is %#llx, want %#llx", name,                   \
		     (unsigned long long)got->field, (unsigned long long)want->field)

/* Compares every finding; the fixed identity-hash offset only where it is
 * used (hub_idhash < 0). */
static void same_layout(const struct hd_layout *got, const struct hd_layout *want, const char *name)
{
	SAME(ref_size);
	SAME(ref_shift);
	SAME(hdr_size);
	SAME(hub_shift);
	SAME(array_length_off);
	SAME(hash_appended);
	SAME(heap_base);
	SAME(image_start);
	SAME(image_size);
	SAME(chunk_size);
	SAME(ch_end);
	SAME(ch_top);
	SAME(ch_next);
	SAME(ch_prev);
	SAME(ch_struct_end);
	SAME(aligned_obj_start);
	SAME(unaligned_obj_start);
	SAME(class_hub);
	SAME(hub_name);
	SAME(hub_enc);
	SAME(hub_refmap);
	SAME(hub_idhash);
	SAME(hub_super);
	SAME(hub_super2);
	if (want->hub_idhash < 0)
		SAME(idhash_fixed_off);
	SAME(string_hub);
	SAME(str_value);
	SAME(str_coder);
	SAME(str_hash);
	SAME(refmap_data);
	SAME(refmap_len);
	SAME(referent_off);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The hub list is exactly the generated hubs. */
static void same_hubs(const struct run *r)
{
	cr_assert_eq(r->nhubs, r->h.nclasses, "%s: %zu hubs, want %zu", r->h.p.name, r->nhubs,
		     r->h.nclasses);
	uint64_t *want = malloc(r->h.nclasses * sizeof *want);
	uint64_t *got = malloc(r->nhubs * sizeof *got);
	cr_assert(want && got);
	for (size_t k = 0; k < r->h.nclasses; k++)
		want[k] = r->h.classes[k].hub;
	memcpy(got, r->hubs, r->nhubs * sizeof *got);
	qsort(want, r->h.nclasses, sizeof *want, cmp_u64);
	qsort(got, r->nhubs, sizeof *got, cmp_u64);
	for (size_t k = 0; k < r->nhubs; k++)
		cr_assert_eq(got[k], want[k], "%s: hub %zu", r->h.p.name, k);
	free(want);
	free(got);
}

static void layout_case(const struct sh_params *p)
{
	struct run r;
	build(&r, p);
	discover_ok(&r);
	same_layout(&r.L, &r.h.expect, p->name);
	same_hubs(&r);
	finish(&r);
}

Test(discover, ce_22_3) { layout_case(&sh_ce_22_3); }
Test(discover, oracle_21_compressed_optional_hash) { layout_case(&sh_oracle_21); }
Test(discover, ce_25_typed_hash_companion) { layout_case(&sh_ce_25); }

/* The real chunk sizes: objects then start where the docs computed them
 * (1 MiB: 0x1028 for 22.3; 512 KiB: 0x830 for 23.1 EE, 0x838 for 25). */
Test(discover, real_chunk_sizes_and_object_starts)
{
	static const uint64_t sizes[] = {1u << 20, 512u << 10, 512u << 10};
	static const uint64_t starts[] = {0x1028, 0x830, 0x838};
	for (size_t i = 0; i < NPRESETS; i++) {
		struct sh_params p = *PRESETS[i];
		p.chunk_size = p.base_offset = sizes[i];
		struct run r;
		build(&r, &p);
		discover_ok(&r);
		cr_assert_eq(r.L.aligned_obj_start, starts[i], "%s: objects at %#llx", p.name,
			     (unsigned long long)r.L.aligned_obj_start);
		same_layout(&r.L, &r.h.expect, p.name);
		finish(&r);
	}
}

/* Discovery tries the heap base one chunk below the image heap (as in the
 * real builds) and at its start: the second placement must work too. */
Test(discover, heap_base_at_image_start)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct sh_params p = *PRESETS[i];
		p.base_offset = 0;
		p.heap_base += 1u << 20;
		struct run r;
		build(&r, &p);
		discover_ok(&r);
		cr_assert_eq(r.L.heap_base, r.L.image_start);
		same_layout(&r.L, &r.h.expect, p.name);
		finish(&r);
	}
}

Test(discover, referent_with_concrete_reference)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct sh_params p = *PRESETS[i];
		p.abstract_reference = false;
		struct run r;
		build(&r, &p);
		discover_ok(&r);
		cr_assert_geq(r.h.expect.referent_off, (int)p.hdr_size);
		same_layout(&r.L, &r.h.expect, p.name);
		finish(&r);
	}
}

/* java.lang.ref.Reference may be abstract (layout encoding 3, no instance
 * size): discovery then takes the slots from WeakReference. */
Test(discover, referent_with_abstract_reference)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		build(&r, PRESETS[i]);
		discover_ok(&r);
		cr_assert_eq(r.L.referent_off, r.h.expect.referent_off, "%s: referent at %d, want %d",
			     PRESETS[i]->name, r.L.referent_off, r.h.expect.referent_off);
		finish(&r);
	}
}

static uint64_t ref_at(struct sh_heap *h, uint64_t at)
{
	uint64_t raw = 0;
	memcpy(&raw, sh_ptr(h, at), h->p.ref_size);
	return raw ? h->p.heap_base + (raw << h->p.ref_shift) : 0;
}

/* Renames class FROM to TO (same length) in the heap: the name's bytes and
 * the String's precomputed hash, so that the heap stays consistent. */
static void rename_class(struct sh_heap *h, const char *from, const char *to)
{
	size_t n = strlen(to);
	cr_assert_eq(strlen(from), n);
	uint64_t name = ref_at(h, sh_class(h, from)->hub + h->p.hub_name);
	uint64_t value = ref_at(h, name + h->expect.str_value);
	memcpy(sh_ptr(h, value + h->p.array_base), to, n);
	uint16_t units[128];
	for (size_t i = 0; i < n; i++)
		units[i] = (uint8_t)to[i];
	int32_t hash = sh_java_hash(units, n);
	memcpy(sh_ptr(h, name + (unsigned)h->expect.str_hash), &hash, 4);
}

/* The superclass slot is trusted only when at least two known pairs
 * (String->Object, Integer->Number, Number->Object, HashMap->AbstractMap,
 * ArrayList->AbstractList) confirm it. */
Test(discover, superclass_needs_two_known_pairs)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		build(&r, PRESETS[i]);
		rename_class(&r.h, "java.lang.Integer", "java.lang.Integex");
		rename_class(&r.h, "java.util.HashMap", "java.util.HashMaq");
		rename_class(&r.h, "java.util.ArrayList", "java.util.ArrayLisu");
		discover_ok(&r);
		same_layout(&r.L, &r.h.expect, PRESETS[i]->name); /* String, Number -> Object */
		rename_class(&r.h, "java.lang.Number", "java.lang.Numbes");
		discover_ok(&r);
		cr_assert_eq(r.L.hub_super, -1, "%s: one pair was trusted", PRESETS[i]->name);
		cr_assert_eq(r.L.hub_super2, -1);
		finish(&r);
	}
}

/* No real JDK puts String.value past offset 56, but nothing forbids it:
 * such a layout must be discovered and its strings read (lay_read_string
 * used to read the String into a 64-byte buffer up to value + ref_size, and
 * refused every String whose value lay further). */
Test(discover, string_value_past_56_bytes_is_decoded)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct sh_params p = *PRESETS[i];
		p.string_pads = 16;
		struct run r;
		build(&r, &p);
		cr_assert_geq(r.h.expect.str_value, 64);
		cr_assert_eq(discover(&r, r.h.size), 0, "%s: %s", p.name, hd_error_message());
		same_layout(&r.L, &r.h.expect, p.name);
		const struct sh_class *integer = sh_class(&r.h, "java.lang.Integer");
		const uint8_t *name_ref = sh_ptr(&r.h, integer->hub + r.L.hub_name);
		char *name = lay_read_string(r.mv, &r.L, lay_ref(&r.L, name_ref));
		cr_assert_str_eq(name ? name : "(null)", "java.lang.Integer", "%s", p.name);
		free(name);
		finish(&r);
	}
}

/* ---- Corrupt heaps are rejected ----------------------------------------- */

typedef void (*corrupt_fn)(struct sh_heap *h, uint64_t *size);

/* Applies FN to a fresh heap of every preset; discovery must fail with
 * HD_E_LAYOUT and, if MSG is given, say so. */
static void expect_rejected(corrupt_fn fn, const char *what, const char *msg)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		build(&r, PRESETS[i]);
		uint64_t size = r.h.size;
		fn(&r.h, &size);
		cr_assert_eq(discover(&r, size), -1, "%s: discovery accepted a heap with %s",
			     PRESETS[i]->name, what);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s, %s: error class %d (%s)",
			     PRESETS[i]->name, what, hd_error_class(), hd_error_message());
		if (msg)
			cr_assert_not_null(strstr(hd_error_message(), msg), "%s, %s: \"%s\" lacks \"%s\"",
					   PRESETS[i]->name, what, hd_error_message(), msg);
		finish(&r);
	}
}

static void put_word(struct sh_heap *h, uint64_t at, uint64_t v)
{
	memcpy(sh_ptr(h, at), &v, 8);
}

static uint64_t get_word(struct sh_heap *h, uint64_t at)
{
	uint64_t v;
	memcpy(&v, sh_ptr(h, at), 8);
	return v;
}

static void cut_in_last_aligned_chunk(struct sh_heap *h, uint64_t *size)
{
	*size = (h->naligned - 1) * h->p.chunk_size + h->p.chunk_size / 2;
}

static void cut_in_unaligned_chunk(struct sh_heap *h, uint64_t *size)
{
	/* Header intact, object cut short. */
	*size = h->chunks[h->naligned] - h->start + 200;
}

static void cut_to_2k(struct sh_heap *h, uint64_t *size)
{
	(void)h;
	*size = 2048;
}

Test(reject, truncated_heap)
{
	expect_rejected(cut_in_last_aligned_chunk, "its last aligned chunk cut in half", NULL);
	expect_rejected(cut_in_unaligned_chunk, "its unaligned chunk cut", NULL);
	expect_rejected(cut_to_2k, "2 KiB left", "too small");
}

static void chunk1_end(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	put_word(h, h->chunks[1] + h->p.ch_end, 0x12345);
}

static void chunk0_next_outside(struct sh_heap *h, uint64_t *size)
{
	put_word(h, h->chunks[0] + h->p.ch_next, *size + h->p.chunk_size);
}

static void chunk0_end_zero(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	put_word(h, h->chunks[0] + h->p.ch_end, 0);
}

static void unaligned_top_past_end(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	uint64_t at = h->chunks[h->naligned] + h->p.ch_top;
	put_word(h, at, get_word(h, at) + 8);
}

Test(reject, corrupted_chunk_header)
{
	expect_rejected(chunk1_end, "chunk 1's end word corrupted", NULL);
	expect_rejected(chunk0_next_outside, "chunk 0 linking outside the heap", NULL);
	expect_rejected(chunk0_end_zero, "chunk 0's end word zeroed", NULL);
	expect_rejected(unaligned_top_past_end, "an unaligned chunk's top past its end", NULL);
}

static void top0_plus_8(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	uint64_t at = h->chunks[0] + h->p.ch_top;
	put_word(h, at, get_word(h, at) + 8);
}

/* A top that drops a whole unreferenced 8-byte object is consistent and
 * cannot be detected, so this cuts into the last object of the last chunk
 * that ends with a larger one. */
static void last_top_minus_8(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	for (size_t c = h->naligned; c-- > 0;) {
		const struct sh_object *last = NULL;
		for (size_t i = 0; i < h->nobjs; i++)
			if (h->objs[i].addr >= h->chunks[c] && h->objs[i].addr < h->chunks[c] + h->p.chunk_size)
				last = &h->objs[i];
		if (last && last->size > 8) {
			uint64_t at = h->chunks[c] + h->p.ch_top;
			cr_assert_eq(get_word(h, at), last->addr + last->size - h->chunks[c]);
			put_word(h, at, get_word(h, at) - 8);
			return;
		}
	}
	cr_assert_fail("no chunk ends with an object larger than 8 bytes");
}

Test(reject, chunk_top_off_by_8)
{
	expect_rejected(top0_plus_8, "chunk 0's top 8 bytes too far", "walks");
	expect_rejected(last_top_minus_8, "a chunk's top 8 bytes short", "walks");
}

static void header_outside(struct sh_heap *h, uint64_t *size)
{
	sh_put_header(h, sh_nth(h, "java.util.HashMap", 0)->addr, h->start + *size + 0x1000);
}

static void header_below(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	sh_put_header(h, sh_nth(h, "java.lang.Integer", 3)->addr, h->p.heap_base + 8);
}

static void header_to_non_hub(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	sh_put_header(h, sh_nth(h, "java.util.ArrayList", 0)->addr, sh_nth(h, "java.lang.String", 0)->addr);
}

Test(reject, header_pointing_outside_the_heap)
{
	expect_rejected(header_outside, "a HashMap whose hub lies past the heap", "walks");
	expect_rejected(header_below, "an Integer whose hub lies below the heap", "walks");
	expect_rejected(header_to_non_hub, "an ArrayList whose hub is a String", "walks");
}

/* HashMap's map gets its second entry (the monitor slot) moved onto an int
 * field: still a well-formed map, but the slot holds no reference. */
static void map_into_primitive_field(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	const struct sh_class *c = sh_class(h, "java.util.HashMap");
	uint8_t *map = sh_ptr(h, h->expect.refmap_data + (uint64_t)c->refmap_index);
	uint32_t n, off0, cnt0;
	memcpy(&n, map, 4);
	memcpy(&off0, map + 4, 4);
	memcpy(&cnt0, map + 8, 4);
	cr_assert_eq(n, 2);
	uint32_t first_free = off0 + cnt0 * h->p.ref_size;
	static const char *ints[] = {"size", "modCount", "threshold", "loadFactor"};
	for (size_t i = 0; i < 4; i++) {
		uint32_t off = sh_field(h, "java.util.HashMap", ints[i]);
		if (off >= first_free && off % h->p.ref_size == 0) {
			memcpy(map + 12, &off, 4);
			return;
		}
	}
	cr_assert_fail("no int field of HashMap can take a map entry");
}

Test(reject, reference_map_into_the_middle_of_an_object)
{
	expect_rejected(map_into_primitive_field, "a reference map entry over an int field",
			"do not land on an object start");
}

static void element_past_the_heap(struct sh_heap *h, uint64_t *size)
{
	uint64_t list = sh_nth(h, "[Ljava.lang.Object;", 0)->addr;
	sh_put_ref(h, list + h->p.array_base + 5 * h->p.ref_size, h->start + *size + 64);
}

static void element_inside_a_string(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	uint64_t list = sh_nth(h, "[Ljava.lang.Object;", 0)->addr;
	sh_put_ref(h, list + h->p.array_base + 6 * h->p.ref_size, sh_nth(h, "java.lang.String", 3)->addr + 8);
}

static void field_inside_an_integer(struct sh_heap *h, uint64_t *size)
{
	(void)size;
	uint64_t node = sh_nth(h, "java.util.HashMap$Node", 0)->addr;
	sh_put_ref(h, node + sh_field(h, "java.util.HashMap$Node", "value"),
		   sh_nth(h, "java.lang.Integer", 0)->addr + 8);
}

Test(reject, dangling_reference)
{
	expect_rejected(element_past_the_heap, "an array element past the heap",
			"do not land on an object start");
	expect_rejected(element_inside_a_string, "an array element inside a String",
			"do not land on an object start");
	expect_rejected(field_inside_an_integer, "a field inside an Integer",
			"do not land on an object start");
}

/* ---- Hostile heaps: bounded reads, bounded work, signals ----------------- */

/* The largest object of class CLS. */
static const struct sh_object *largest(const struct sh_heap *h, const char *cls)
{
	const struct sh_class *c = sh_class(h, cls);
	const struct sh_object *best = NULL;
	for (size_t i = 0; i < h->nobjs; i++)
		if (&h->classes[h->objs[i].cls] == c && (!best || h->objs[i].size > best->size))
			best = &h->objs[i];
	cr_assert_not_null(best);
	return best;
}

static void put_i32(struct sh_heap *h, uint64_t at, uint32_t v)
{
	memcpy(sh_ptr(h, at), &v, 4);
}

static uint32_t get_i32(struct sh_heap *h, uint64_t at)
{
	uint32_t v;
	memcpy(&v, sh_ptr(h, at), 4);
	return v;
}

/* The object-array hub says 1-byte elements; every Object[] keeps its size
 * by a length counted in bytes.  The walk still tiles the chunks, and the
 * reference check must not read LENGTH references (ref_size times the
 * object) from it. */
static void object_array_byte_elements(struct sh_heap *h)
{
	const struct sh_class *c = sh_class(h, "[Ljava.lang.Object;");
	uint64_t enc_at = c->hub + h->expect.hub_enc;
	put_i32(h, enc_at, get_i32(h, enc_at) & ~0xffu);
	for (size_t i = 0; i < h->nobjs; i++) {
		if (&h->classes[h->objs[i].cls] != c)
			continue;
		uint64_t len_at = h->objs[i].addr + h->expect.array_length_off;
		put_i32(h, len_at, get_i32(h, len_at) * h->p.ref_size);
	}
}

Test(hostile, object_array_length_past_its_bytes)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		build(&r, PRESETS[i]);
		object_array_byte_elements(&r.h);
		cr_assert_eq(discover(&r, r.h.size), -1, "%s: accepted", PRESETS[i]->name);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s: %s", PRESETS[i]->name, hd_error_message());
		cr_assert_not_null(strstr(hd_error_message(), "references in"), "%s: %s",
				   PRESETS[i]->name, hd_error_message());
		finish(&r);
	}
}

/* A copy of Integer's hub inside a byte array's elements, and one Integer
 * pointing at it: hub-like bytes that are no object the walk met. */
Test(hostile, hub_inside_an_array_is_refused)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		build(&r, PRESETS[i]);
		const struct sh_object *big = largest(&r.h, "[B");
		uint64_t forged = (big->addr + r.h.p.array_base + 64) & ~7ull;
		cr_assert_leq(forged + r.h.p.hub_fixed, big->addr + big->size);
		const struct sh_class *integer = sh_class(&r.h, "java.lang.Integer");
		memcpy(sh_ptr(&r.h, forged), sh_ptr(&r.h, integer->hub), r.h.p.hub_fixed);
		sh_put_header(&r.h, sh_nth(&r.h, "java.lang.Integer", 0)->addr, forged);
		cr_assert_eq(discover(&r, r.h.size), -1, "%s: accepted", PRESETS[i]->name);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s: %s", PRESETS[i]->name, hd_error_message());
		cr_assert_not_null(strstr(hd_error_message(), "not an object start"), "%s: %s",
				   PRESETS[i]->name, hd_error_message());
		finish(&r);
	}
}

/* A hub no object uses is never decoded by a walk; its encoding must still
 * be checked by discovery, not first by the class table (found by the
 * fuzzer: tests/fuzz/corpus/heap/hub-with-implausible-encoding). */
Test(hostile, hub_without_instances_is_checked)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		build(&r, PRESETS[i]);
		const struct sh_class *c = sh_class(&r.h, "java.util.AbstractCollection");
		cr_assert_eq(c->count, 0);
		put_i32(&r.h, c->hub + r.h.expect.hub_enc, 0x40000003);
		cr_assert_eq(discover(&r, r.h.size), -1, "%s: accepted", PRESETS[i]->name);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s: %s", PRESETS[i]->name, hd_error_message());
		cr_assert_not_null(strstr(hd_error_message(), "has layout encoding 0x40000003"), "%s: %s",
				   PRESETS[i]->name, hd_error_message());
		finish(&r);
	}
}

/* Discovery under BUDGET with its log captured; returns its result and
 * the search's work as the log reports it. */
static int discover_budget(struct run *r, const struct hd_search_budget *budget,
			   uint64_t *candidates, uint64_t *walked)
{
	char *log = NULL;
	size_t len;
	FILE *f = open_memstream(&log, &len);
	cr_assert_not_null(f);
	mv_free(r->mv);
	r->mv = mv_new_local();
	cr_assert_eq(mv_add_local(r->mv, r->h.start, r->h.data, r->h.size), 0);
	hd_error_clear();
	free(r->hubs);
	r->hubs = NULL;
	int rc = discover_layout_within(r->mv, r->h.start, r->h.size, budget, &r->L, &r->hubs,
					&r->nhubs, f);
	fclose(f);
	const char *line = strstr(log, "layout search: ");
	cr_assert_not_null(line, "%s: no work report in\n%s", r->h.p.name, log);
	cr_assert_eq(sscanf(line, "layout search: %" SCNu64 " candidates, %" SCNu64, candidates,
			    walked), 2, "%s", line);
	free(log);
	return rc;
}

/* The search stops, with its own error, exactly where its budget says. */
Test(hostile, layout_search_stops_at_its_budget)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		const char *name = PRESETS[i]->name;
		struct run r;
		build(&r, PRESETS[i]);
		uint64_t need, walked, n, w;
		cr_assert_eq(discover_budget(&r, &hd_default_search_budget, &need, &walked), 0, "%s: %s",
			     name, hd_error_message());
		cr_log_info("%s: %" PRIu64 " candidates, %" PRIu64 " bytes walked", name, need, walked);
		cr_assert_geq(walked, r.h.bytes, "%s: the heap was not walked", name);
		struct hd_search_budget exact = {need, 16};
		cr_assert_eq(discover_budget(&r, &exact, &n, &w), 0, "%s: %s", name, hd_error_message());
		struct hd_search_budget short_one = {need - 1, 16};
		cr_assert_eq(discover_budget(&r, &short_one, &n, &w), -1, "%s", name);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s: %s", name, hd_error_message());
		cr_assert_not_null(strstr(hd_error_message(), "layout search gave up"), "%s: %s", name,
				   hd_error_message());
		cr_assert_eq(n, need - 1, "%s", name);
		finish(&r);
	}
}

/* Every spare chunk-header word below the top holds the chunk's top (each
 * a top candidate), and the last aligned chunk's last object is broken, so
 * no candidate walks the whole heap.  The search fails within its budget. */
Test(hostile, failing_layout_search_is_bounded)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		build(&r, PRESETS[i]);
		struct sh_heap *h = &r.h;
		for (size_t c = 0; c < h->naligned; c++) {
			uint64_t top = get_word(h, h->chunks[c] + h->p.ch_top);
			for (unsigned s = 0; s < h->p.ch_top; s += 8)
				if (s != h->p.ch_end && s != h->p.ch_next && s != h->p.ch_prev &&
				    (int)s != h->p.ch_salt)
					put_word(h, h->chunks[c] + s, top);
		}
		uint64_t last = h->chunks[h->naligned - 1];
		const struct sh_object *victim = NULL;
		for (size_t k = 0; k < h->nobjs; k++)
			if (h->objs[k].addr > last && h->objs[k].addr < last + h->p.chunk_size)
				victim = &h->objs[k];
		cr_assert_not_null(victim);
		put_word(h, victim->addr, 0x13371337u);
		uint64_t candidates, walked;
		cr_assert_eq(discover_budget(&r, &hd_default_search_budget, &candidates, &walked), -1,
			     "%s: accepted", PRESETS[i]->name);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s: %s", PRESETS[i]->name, hd_error_message());
		cr_log_info("%s: %" PRIu64 " candidates, %" PRIu64 " bytes walked (heap %" PRIu64 ")",
			    PRESETS[i]->name, candidates, walked, h->size);
		cr_assert_leq(candidates, hd_default_search_budget.candidates, "%s", PRESETS[i]->name);
		/* The budget is checked before each candidate: one more walk
		 * (chunk 0, then the heap) may follow the last check. */
		cr_assert_leq(walked, (hd_default_search_budget.walk_factor + 2) * h->size, "%s",
			      PRESETS[i]->name);
		finish(&r);
	}
}

/* A SIGINT that arrived before (or during) discovery ends it with
 * HD_E_INTERRUPTED (exit 14), and so does one during the census (the
 * class table's: test_classes.c). */
Test(hostile, pending_sigint_ends_discovery)
{
	struct run r;
	build(&r, &sh_ce_25);
	hd_install_signal_handlers();
	cr_assert_eq(raise(SIGINT), 0);
	cr_assert(hd_interrupted());
	cr_assert_eq(discover(&r, r.h.size), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	finish(&r);
}

/* ---- Fuzzing ------------------------------------------------------------ */

/* splitmix64: turns consecutive seeds into unrelated xorshift states. */
static uint64_t mix_seed(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x ? x : 1;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One to four mutations, mostly inside objects (headers, fields, array
 * lengths) and chunk headers, where they matter; values are random, small,
 * or plausible references. */
static void mutate(struct sh_heap *h, uint64_t *s)
{
	int n = 1 + (int)(rnd(s) % 4);
	for (int i = 0; i < n; i++) {
		uint64_t where = rnd(s) % 10, at;
		if (where < 2) {
			uint64_t c = h->chunks[rnd(s) % (h->naligned + h->nunaligned)];
			at = c + 8 * (rnd(s) % 8);
		} else if (where < 8) {
			const struct sh_object *o = &h->objs[rnd(s) % h->nobjs];
			at = o->addr + rnd(s) % (o->size < 64 ? o->size : 64);
		} else {
			at = h->start + rnd(s) % h->size;
		}
		unsigned width = (rnd(s) % 2) ? 8 : 4;
		at &= ~(uint64_t)(width - 1);
		if (at + width > h->start + h->size)
			at = h->start;
		uint64_t v = 0;
		memcpy(&v, sh_ptr(h, at), width);
		switch (rnd(s) % 5) {
		case 0: /* flip bits of one byte */
			at += rnd(s) % width;
			width = 1;
			v = *sh_ptr(h, at) ^ (1 + rnd(s) % 255);
			break;
		case 1:
			v = rnd(s);
			break;
		case 2: { /* a reference to another object, maybe off by a word */
			const struct sh_object *o = &h->objs[rnd(s) % h->nobjs];
			v = sh_encode_ref(h, o->addr + 8 * (rnd(s) % 2));
			break;
		}
		case 3: {
			static const uint64_t small[] = {0, 1, 3, 4, 8, 0x7fffffff, 0x80000000, UINT64_MAX};
			v = small[rnd(s) % 8];
			break;
		}
		default:
			v += (rnd(s) % 2) ? 8 : (uint64_t)-8;
			break;
		}
		memcpy(sh_ptr(h, at), &v, width);
	}
}

struct fuzz_stats {
	unsigned rejected, classes_failed, census_failed, accepted;
};

static void fuzz_one(struct sh_heap *h, struct fuzz_stats *st, const char *name, unsigned iter)
{
	hd_memview *mv = mv_new_local();
	cr_assert_not_null(mv);
	cr_assert_eq(mv_add_local(mv, h->start, h->data, h->size), 0);
	struct hd_layout L;
	uint64_t *hubs = NULL;
	size_t nhubs = 0;
	hd_error_clear();
	if (discover_layout(mv, h->start, h->size, &L, &hubs, &nhubs, NULL) != 0) {
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s #%u: discovery failed with class %d: %s",
			     name, iter, hd_error_class(), hd_error_message());
		st->rejected++;
		mv_free(mv);
		return;
	}
	struct hd_classes t;
	if (classes_build(&t, mv, &L, hubs, nhubs) != 0) {
		cr_assert_neq(hd_error_class(), HD_OK, "%s #%u: classes_build failed silently", name, iter);
		cr_log_info("%s #%u: accepted by discovery, not by classes_build: %s", name, iter,
			    hd_error_message());
		st->classes_failed++;
	} else {
		struct hd_dump_input in = {.L = &L, .classes = &t, .mv = mv, .chunks = image_chunks};
		struct hd_census c;
		hd_error_clear();
		if (heap_census(&in, &c) != 0) {
			/* Discovery walked these very chunks; only class-table
			 * differences can make the census stop. */
			cr_assert_neq(hd_error_class(), HD_OK, "%s #%u: census failed silently", name, iter);
			cr_log_info("%s #%u: accepted by discovery, not by the census: %s", name, iter,
				    hd_error_message());
			st->census_failed++;
		} else {
			/* heap_census returns 0 only when every walk ended at its
			 * chunk's top: the objects it counted tile the chunks. */
			cr_assert_geq(c.chunks, 1);
			cr_assert_leq(c.bytes, h->size);
			st->accepted++;
			census_free(&c);
		}
	}
	classes_free(&t);
	free(hubs);
	mv_free(mv);
}

/* 100 fixed seeds per preset by default; HDUMP_FUZZ_ITERATIONS and
 * HDUMP_FUZZ_SEED run longer or different campaigns by hand. */
static void fuzz_preset(size_t preset)
{
	const char *env = getenv("HDUMP_FUZZ_ITERATIONS");
	unsigned iterations = env ? (unsigned)strtoul(env, NULL, 0) : 100;
	env = getenv("HDUMP_FUZZ_SEED");
	uint64_t seed0 = env ? strtoull(env, NULL, 0) : 0x5eed0000ull;
	const struct sh_params *p = PRESETS[preset];
	struct sh_heap h;
	cr_assert_eq(sh_build(p, &h), 0);
	uint8_t *orig = malloc(h.size);
	cr_assert_not_null(orig);
	memcpy(orig, h.data, h.size);
	struct fuzz_stats st = {0};
	for (unsigned iter = 0; iter < iterations; iter++) {
		memcpy(h.data, orig, h.size);
		uint64_t seed = mix_seed(mix_seed(seed0 + preset) + iter);
		mutate(&h, &seed);
		fuzz_one(&h, &st, p->name, iter);
	}
	cr_log_info("%s: %u rejected, %u class tables failed, %u census failed, %u accepted", p->name,
		    st.rejected, st.classes_failed, st.census_failed, st.accepted);
	/* Both outcomes must occur, or the mutations test nothing. */
	if (iterations >= 100) {
		cr_assert_gt(st.rejected, 0, "%s: no mutation was rejected", p->name);
		cr_assert_gt(st.accepted, 0, "%s: no mutation was harmless", p->name);
	}
	free(orig);
	sh_free(&h);
}

Test(fuzz, ce_22_3, .timeout = 300) { fuzz_preset(0); }
Test(fuzz, oracle_21, .timeout = 300) { fuzz_preset(1); }
Test(fuzz, ce_25, .timeout = 300) { fuzz_preset(2); }
