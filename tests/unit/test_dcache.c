/* The discovery cache's payload (symbols/dcache.c): the synthetic
 * executable's discovery encoded and decoded back equal, at its own and at
 * another address; every truncation, a huge count, an index out of range,
 * a superclass cycle and a class that does not fit its encoding refused; and the check against the image heap
 * refusing hubs that are not the image's. */
#include "../../common/hd_error.h"
#include "../../lib/exe.h"
#include "../../symbols/dcache.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct hd_elfimage img;
	struct exe x;
	struct hd_discovery d;
	uint8_t *payload;
	size_t n;
};

static void discover(struct fixture *f)
{
	const char *path = getenv("HDUMP_SYNTH_IMAGE");
	cr_assert_not_null(path, "HDUMP_SYNTH_IMAGE is not set (run through meson test)");
	cr_assert_eq(exe_open(&f->x, path, &f->img), 0, "%s", hd_error_message());
	struct hd_events quiet = {0};
	cr_assert_eq(exe_discover(&f->x, &quiet, NULL), 0, "%s", hd_error_message());
	f->d = (struct hd_discovery){&f->x.L, &f->x.classes, &f->x.statics, NULL, NULL, NULL, NULL};
	cr_assert_eq(dcache_encode(&f->d, &f->payload, &f->n), 0, "%s", hd_error_message());
}

static void release(struct fixture *f)
{
	free(f->payload);
	exe_close(&f->x);
	elfimage_close(&f->img);
}

/* Decoded structures of an executable's entry. */
struct decoded {
	struct hd_layout L;
	struct hd_classes classes;
	struct hd_statics statics;
	struct hd_discovery d;
};

static void decoded_init(struct decoded *o)
{
	memset(o, 0, sizeof *o);
	o->d = (struct hd_discovery){&o->L, &o->classes, &o->statics, NULL, NULL, NULL, NULL};
}

static void decoded_free(struct decoded *o)
{
	classes_free(&o->classes);
	statics_free(&o->statics);
}

static void same_fields(const struct hd_field *a, const struct hd_field *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(a[i].offset, b[i].offset);
		cr_assert_eq(a[i].type, b[i].type);
		cr_assert_eq(a[i].named_by, b[i].named_by);
		cr_assert_eq(a[i].slot, b[i].slot);
		cr_assert_eq(a[i].name, b[i].name);
	}
}

Test(dcache, round_trip_equal_at_its_address_and_checked)
{
	struct fixture f = {0};
	discover(&f);
	struct decoded o;
	decoded_init(&o);
	cr_assert_eq(dcache_decode(&o.d, OFFLINE_IMAGE_START, f.payload, f.n), 0, "%s",
		     hd_error_message());
	cr_assert_eq(memcmp(&o.L, &f.x.L, sizeof o.L), 0, "the layout comes back whole");
	cr_assert_eq(o.classes.n, f.x.classes.n);
	cr_assert_eq(o.classes.names.n, f.x.classes.names.n);
	for (size_t i = 0; i < o.classes.names.n; i++)
		cr_assert_str_eq(o.classes.names.v[i], f.x.classes.names.v[i]);
	for (size_t i = 0; i < o.classes.n; i++) {
		const struct hd_class *a = &o.classes.v[i], *b = &f.x.classes.v[i];
		cr_assert_eq(a->hub, b->hub);
		cr_assert_str_eq(a->name, b->name);
		cr_assert_eq(a->enc, b->enc);
		cr_assert_eq(a->kind, b->kind);
		cr_assert_eq(a->super, b->super);
		cr_assert_eq(a->jsuper, b->jsuper);
		cr_assert_eq(a->fixed_size, b->fixed_size);
		cr_assert_eq(a->nfields, b->nfields);
		cr_assert_eq(a->nown, b->nown);
		same_fields(a->fields, b->fields, a->nfields);
		same_fields(a->own, b->own, a->nown);
		cr_assert_eq(classes_find(&o.classes, a->hub), a, "the hub index is rebuilt");
	}
	cr_assert_eq(o.statics.n, f.x.statics.n);
	cr_assert_eq(o.statics.objects.addr, f.x.statics.objects.addr);
	cr_assert_eq(dcache_check(&o.d, f.x.mv), 0, "%s", hd_error_message());
	decoded_free(&o);
	release(&f);
}

Test(dcache, placed_at_another_address_every_address_moves)
{
	struct fixture f = {0};
	discover(&f);
	struct decoded o;
	decoded_init(&o);
	uint64_t start = OFFLINE_IMAGE_START + (1ull << 32);
	cr_assert_eq(dcache_decode(&o.d, start, f.payload, f.n), 0, "%s", hd_error_message());
	cr_assert_eq(o.L.image_start, start);
	cr_assert_eq(o.L.class_hub, f.x.L.class_hub + (1ull << 32));
	cr_assert_eq(o.L.heap_base, f.x.L.heap_base + (1ull << 32));
	cr_assert_eq(o.classes.v[0].hub, f.x.classes.v[0].hub + (1ull << 32));
	/* the image is not there: the check says so */
	cr_assert_eq(dcache_check(&o.d, f.x.mv), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	decoded_free(&o);
	release(&f);
}

Test(dcache, every_truncation_refused)
{
	struct fixture f = {0};
	discover(&f);
	size_t step = f.n / 2000 + 1;
	for (size_t len = 0; len < f.n; len += step) {
		struct decoded o;
		decoded_init(&o);
		cr_assert_eq(dcache_decode(&o.d, OFFLINE_IMAGE_START, f.payload, len), -1,
			     "%zu of %zu bytes decoded", len, f.n);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%zu: %s", len, hd_error_message());
		decoded_free(&o);
	}
	release(&f);
}

/* The byte offset of the class table's count: after the parts byte, the
 * layout's 32 words and the field names. */
static size_t classes_at(const uint8_t *p)
{
	size_t at = 1 + 32 * 8;
	uint64_t nnames;
	memcpy(&nnames, p + at, 8);
	at += 8;
	for (uint64_t i = 0; i < nnames; i++) {
		uint32_t len;
		memcpy(&len, p + at, 4);
		at += 4 + len;
	}
	return at;
}

/* F's payload with LEN bytes at AT replaced by V does not decode. */
static void refused_patched(const struct fixture *f, size_t at, const void *v, size_t len)
{
	uint8_t *p = malloc(f->n);
	cr_assert_not_null(p);
	memcpy(p, f->payload, f->n);
	memcpy(p + at, v, len);
	struct decoded o;
	decoded_init(&o);
	cr_assert_eq(dcache_decode(&o.d, OFFLINE_IMAGE_START, p, f->n), -1, "decoded, patched at %zu",
		     at);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	decoded_free(&o);
	free(p);
}

Test(dcache, huge_counts_and_bad_indexes_refused)
{
	struct fixture f = {0};
	discover(&f);
	size_t at = classes_at(f.payload);
	uint64_t n;
	memcpy(&n, f.payload + at, 8);
	cr_assert_eq(n, f.x.classes.n, "the test finds the class count");
	const uint64_t huge[] = {1ull << 40, UINT64_MAX, n + 1};
	for (size_t i = 0; i < 3; i++)
		refused_patched(&f, at, &huge[i], 8);
	/* the first class's superclass: one past the table, then itself (a cycle) */
	size_t first_class = at + 8;
	uint32_t len;
	memcpy(&len, f.payload + first_class + 8, 4);
	size_t super_at = first_class + 8 + 4 + len + 4 + 1 + 1 + 2 + 2 + 4 + 1 + 1 + 4;
	int32_t bad[] = {(int32_t)n, 0, -2};
	for (size_t i = 0; i < 3; i++)
		refused_patched(&f, super_at, &bad[i], 4);
	/* its fixed size 8 bytes past what its encoding says (fields the writer
	 * would read past the object), and its kind another than the encoding's */
	uint32_t fixed = f.x.classes.v[0].fixed_size + 8;
	refused_patched(&f, super_at + 4, &fixed, 4);
	uint8_t kind = (uint8_t)((f.x.classes.v[0].kind + 1) % (HD_KIND_PRIM_ARRAY + 1));
	refused_patched(&f, first_class + 8 + 4 + len + 4, &kind, 1);
	release(&f);
}

Test(dcache, hubs_that_are_not_the_images_refused)
{
	struct fixture f = {0};
	discover(&f);
	struct decoded o;
	decoded_init(&o);
	cr_assert_eq(dcache_decode(&o.d, OFFLINE_IMAGE_START, f.payload, f.n), 0);
	size_t k = o.classes.n - 1;
	o.classes.v[k].hub += 8;
	cr_assert_eq(dcache_check(&o.d, f.x.mv), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_not_null(strstr(hd_error_message(), o.classes.v[k].name), "%s",
			   hd_error_message());
	o.classes.v[k].hub -= 8;
	o.classes.v[k].enc ^= 8;
	cr_assert_eq(dcache_check(&o.d, f.x.mv), -1, "a hub holding another layout");
	o.classes.v[k].enc ^= 8;
	cr_assert_eq(dcache_check(&o.d, f.x.mv), 0, "%s", hd_error_message());
	o.L.class_hub += 8;
	cr_assert_eq(dcache_check(&o.d, f.x.mv), -1, "the Class hub is its own hub");
	decoded_free(&o);
	release(&f);
}

Test(dcache, an_executables_entry_does_not_serve_a_process)
{
	struct fixture f = {0};
	discover(&f);
	struct decoded o;
	decoded_init(&o);
	struct hd_threadlocals tl;
	struct hd_codeinfo ci = {0};
	bool have_ci = false;
	o.d.tl = &tl;
	o.d.ci = &ci;
	o.d.have_ci = &have_ci;
	cr_assert_eq(dcache_decode(&o.d, OFFLINE_IMAGE_START, f.payload, f.n), -1);
	cr_assert_not_null(strstr(hd_error_message(), "thread locals"), "%s", hd_error_message());
	decoded_free(&o);
	codeinfo_free(&ci);
	release(&f);
}

/* A process's entry: F's discovery with thread locals (VMThreads.head at
 * HEAD_WORD), no code info and ROOTS. */
static void encode_live(struct fixture *f, uint64_t head_word, struct hd_chunk_roots *roots,
			uint8_t **p, size_t *n)
{
	struct hd_threadlocals tl = {-1, -1, -1, -1, -1, -1, -1, -1, -1, 64, 0, 0, head_word};
	struct hd_codeinfo ci = {0};
	bool have_ci = false;
	struct hd_discovery d = f->d;
	d.tl = &tl;
	d.ci = &ci;
	d.have_ci = &have_ci;
	d.roots = roots;
	cr_assert_eq(dcache_encode(&d, p, n), 0, "%s", hd_error_message());
}

static struct hd_threadlocals decoded_tl;

/* Decodes P as a process's entry into O, *ROOTS and decoded_tl. */
static int decode_live(struct decoded *o, struct hd_chunk_roots *roots, const uint8_t *p, size_t n)
{
	struct hd_threadlocals *tl = &decoded_tl;
	static struct hd_codeinfo ci;
	static bool have_ci;
	decoded_init(o);
	o->d.tl = tl;
	o->d.ci = &ci;
	o->d.have_ci = &have_ci;
	o->d.roots = roots;
	int rc = dcache_decode(&o->d, OFFLINE_IMAGE_START, p, n);
	codeinfo_free(&ci);
	return rc;
}

/* The chunk roots come back as written; a list out of address order or
 * reaching past the image heap is refused. */
Test(dcache, chunk_roots_round_trip_and_bounds)
{
	struct fixture f = {0};
	discover(&f);
	uint64_t size = f.x.L.image_size;
	struct hd_chunk_root v[] = {{0x100, 0x40}, {0x300, 0x40}, {size - 16, 0x80}};
	struct hd_chunk_roots roots = {v, 3};
	uint8_t *p;
	size_t n;
	encode_live(&f, 0x40, &roots, &p, &n);
	struct decoded o;
	struct hd_chunk_roots back = {0};
	cr_assert_eq(decode_live(&o, &back, p, n), 0, "%s", hd_error_message());
	cr_assert_eq(back.n, 3);
	for (size_t i = 0; i < 3; i++)
		cr_assert(back.v[i].off == v[i].off && back.v[i].hub_off == v[i].hub_off);
	chunk_roots_free(&back);
	decoded_free(&o);
	free(p);
	const struct hd_chunk_root bad[][2] = {{{0x300, 0x40}, {0x100, 0x40}},
					       {{0x100, 0x40}, {size, 0x40}},
					       {{0x100, size + 8}, {0x300, 0x40}}};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		struct hd_chunk_root w[2] = {bad[k][0], bad[k][1]};
		roots = (struct hd_chunk_roots){w, 2};
		encode_live(&f, 0x40, &roots, &p, &n);
		cr_assert_eq(decode_live(&o, &back, p, n), -1, "list %zu decoded", k);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
		chunk_roots_free(&back);
		decoded_free(&o);
		free(p);
	}
	release(&f);
}

/* VMThreads.head's word comes back as written; one not 8-byte aligned or
 * past the image heap is refused. */
Test(dcache, head_word_round_trip_and_bounds)
{
	struct fixture f = {0};
	discover(&f);
	uint64_t size = f.x.L.image_size;
	const uint64_t words[] = {0, 0x100, size - 8, 0x104, size, UINT64_MAX - 7};
	for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
		uint8_t *p;
		size_t n;
		encode_live(&f, words[k], NULL, &p, &n);
		struct decoded o;
		struct hd_chunk_roots back = {0};
		int rc = decode_live(&o, &back, p, n);
		if (k < 3) {
			cr_assert_eq(rc, 0, "+0x%llx: %s", (unsigned long long)words[k],
				     hd_error_message());
			cr_assert_eq(decoded_tl.head_word, words[k]);
		} else {
			cr_assert_eq(rc, -1, "+0x%llx decoded", (unsigned long long)words[k]);
			cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
		}
		chunk_roots_free(&back);
		decoded_free(&o);
		free(p);
	}
	release(&f);
}

/* A second isolate's decode (no thread locals nor code info wanted) reads
 * past the code-info tables without keeping them, and still refuses every
 * truncation; the first's keeps them whole. */
Test(dcache, code_info_read_past_for_a_second_isolate)
{
	struct fixture f = {0};
	discover(&f);
	uint8_t index[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, frames[3] = {7, 8, 9};
	uint64_t classes[2] = {0x10, 0x20};
	struct hd_codeinfo ci = {.code_start = 0x1000, .ref_size = 8, .index = {index, 16},
				 .frames = {frames, 3}, .classes = classes, .nclasses = 2};
	struct hd_threadlocals tl = {-1, -1, -1, -1, -1, -1, -1, -1, -1, 64, 0, 0, 0};
	bool have_ci = true;
	struct hd_discovery d = f.d;
	d.tl = &tl;
	d.ci = &ci;
	d.have_ci = &have_ci;
	uint8_t *p;
	size_t n;
	cr_assert_eq(dcache_encode(&d, &p, &n), 0, "%s", hd_error_message());
	struct decoded o;
	decoded_init(&o);
	cr_assert_eq(dcache_decode(&o.d, OFFLINE_IMAGE_START, p, n), 0, "%s", hd_error_message());
	decoded_free(&o);
	struct hd_codeinfo back = {0};
	bool have = false;
	decoded_init(&o);
	o.d.tl = &tl;
	o.d.ci = &back;
	o.d.have_ci = &have;
	cr_assert_eq(dcache_decode(&o.d, OFFLINE_IMAGE_START, p, n), 0, "%s", hd_error_message());
	cr_assert(have);
	cr_assert_eq(back.index.n, 16);
	cr_assert_eq(memcmp(back.index.p, index, 16), 0);
	cr_assert(back.borrowed && back.index.p > p && back.frames.p + 3 <= p + n,
		  "the tables are read in the entry, not copied");
	const uint8_t *lo, *hi;
	cr_assert(codeinfo_tables_span(&back, &lo, &hi));
	cr_assert(lo == back.index.p && hi >= back.frames.p + 3 && hi <= p + n,
		  "the span the entry keeps for them");
	struct hd_codeinfo none = {0};
	cr_assert_not(codeinfo_tables_span(&none, &lo, &hi), "no tables, no span");
	cr_assert_eq(back.frames.n, 3);
	cr_assert_eq(memcmp(back.frames.p, frames, 3), 0);
	cr_assert_eq(back.nclasses, 2);
	cr_assert_eq(back.classes[1], 0x20);
	codeinfo_free(&back);
	decoded_free(&o);
	for (size_t len = n - 64; len < n; len++) { /* the tables and what follows, cut */
		decoded_init(&o);
		cr_assert_eq(dcache_decode(&o.d, OFFLINE_IMAGE_START, p, len), -1, "%zu of %zu", len,
			     n);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
		decoded_free(&o);
	}
	free(p);
	release(&f);
}
