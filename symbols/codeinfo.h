/* The image's code-info tables (ImageCodeInfo): for an address in the
 * image's compiled Java code, the frame size there, the stack slots that
 * hold references, and the Java frames (inlined ones included) with their
 * class, method and source line.  The tables are byte arrays and object
 * arrays held by the one ImageCodeInfo object in the image heap; a stripped
 * image does not name its fields, so each array's role is decided from the
 * data (types, sizes, and whether every entry decodes), never from a
 * version number.  Every decode is bounded: the tables are hostile input. */
#ifndef HD_CODEINFO_H
#define HD_CODEINFO_H

#include "classes.h"
#include "imageobjs.h"
#include "layout.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How frame info names its source methods: class and name indexes in each
 * frame (GraalVM 22.3), the same followed by the frame's bci and method id
 * (23.1 and 24.0, whose lines are stored +3 where 22.3's are +2), or a
 * method id into a method table (24.1 on). */
enum hd_fi_format {
	HD_FI_INLINE_NAMES,
	HD_FI_INLINE_NAMES_BCI,
	HD_FI_METHOD_TABLE,
};

struct hd_bytes {
	uint8_t *p; /* a copy, malloc'd; or borrowed (hd_codeinfo's borrowed) */
	size_t n;
};

struct hd_codeinfo {
	uint64_t code_start, code_size;
	struct hd_bytes index;     /* u4 per CODEINFO_GRANULARITY bytes of code */
	struct hd_bytes entries;   /* codeInfoEncodings */
	struct hd_bytes refmaps;   /* referenceMapEncoding */
	struct hd_bytes frames;    /* frameInfoEncodings */
	struct hd_bytes methods;   /* method table (HD_FI_METHOD_TABLE only) */
	enum hd_fi_format format;
	bool deopt_byte;           /* deopt entries carry one more byte (lazy deoptimization) */
	unsigned method_entry;     /* bytes per method-table entry */
	bool short_class, short_name; /* method-table indexes are u2 (else u4) */
	/* Source classes (hub offsets from the image heap's start, so one
	 * table serves every isolate's copy) and method names (String
	 * offsets likewise). */
	uint64_t *classes;
	size_t nclasses;
	uint64_t *names;
	size_t nnames;
	unsigned ref_size;         /* compressed reference slots */
	size_t nentries;           /* entries the validation decoded */
	/* The five tables point into bytes another owns (a discovery cache
	 * entry: dcache_decode), which must outlive them; codeinfo_free
	 * leaves them. */
	bool borrowed;
};

/* The bytes [*LO, *HI) that CI's tables lie in (borrowed tables: within
 * their owner's buffer); false when it holds none. */
bool codeinfo_tables_span(const struct hd_codeinfo *ci, const uint8_t **lo, const uint8_t **hi);

/* Code-info lookups use this index granularity (CodeInfoIndexGranularity). */
#define CODEINFO_GRANULARITY 256u
/* Largest table copied (each array), and most inlined frames one address has. */
#define CODEINFO_MAX_TABLE (256u << 20)
#define CODEINFO_MAX_INLINE 64u

struct hd_elfimage;

/* Finds the ImageCodeInfo among IO's objects (image heap of MV, layout L)
 * and decides its arrays' roles, validating them by decoding the whole
 * entry table.  Errors: HD_E_LAYOUT (no such object, or tables that do not
 * decode), HD_E_INTERRUPTED, HD_E_INTERNAL.  CI is to be freed with
 * codeinfo_free also on failure.  IMG (or NULL): the executable whose
 * mapped image heap MV holds, whose pages each copied table lets go. */
HD_MUST_CHECK int codeinfo_discover(struct hd_codeinfo *ci, hd_memview *mv,
				    const struct hd_layout *L, const struct hd_imageobjs *io,
				    const struct hd_elfimage *img);
void codeinfo_free(struct hd_codeinfo *ci);

/* Sentinels for hd_code_entry.refmap. */
#define CODEINFO_NO_REFMAP (-1)
#define CODEINFO_EMPTY_REFMAP 0

/* What the entry table says at one code address. */
struct hd_code_entry {
	uint32_t frame_size;   /* total frame size, return address included */
	bool entry_point;      /* a C entry point: its caller is native code */
	bool exact;            /* an entry exactly at the address (a call site) */
	int64_t refmap;        /* index into refmaps, or a CODEINFO_*_REFMAP */
	int64_t frame_info;    /* index into frames, -1: none; not exact: the
				  closest call site's before it in its method */
	bool deopt_entry;
};

bool codeinfo_contains(const struct hd_codeinfo *ci, uint64_t ip);

/* Looks IP up.  Returns false when IP is outside the code or the table has
 * no frame size for it (data that does not decode). */
bool codeinfo_lookup(const struct hd_codeinfo *ci, uint64_t ip, struct hd_code_entry *e);

/* One Java frame of a frame-info chain. */
struct hd_java_frame {
	uint64_t class_off;  /* source class hub, as an offset from the image start; 0: unknown */
	uint64_t name_off;   /* method name String, likewise */
	int32_t line;        /* source line, -1 unknown */
	int32_t bci;         /* bytecode index; negative: unknown (or a VM marker bci) */
};

/* Decodes the frame-info chain at E (deepest inlined frame first) into
 * OUT[0..*N), at most CODEINFO_MAX_INLINE.  Returns false when there is no
 * frame info or it does not decode (then *N is 0). */
bool codeinfo_frames(const struct hd_codeinfo *ci, const struct hd_code_entry *e,
		     struct hd_java_frame *out, size_t *n);

/* Calls FN(CTX, slot offset from the frame's sp, compressed) for each
 * reference slot of the map at INDEX (derived pointers' bases only: the
 * pointers into an object are no object starts).  Offsets beyond
 * +-CODEINFO_MAX_SLOT_OFF, or more slots than that / 4, are bad data;
 * whether a slot lies in the frame is the caller's to check.  Returns false
 * when the map does not decode (then FN was not called) or FN returns
 * nonzero. */
#define CODEINFO_MAX_SLOT_OFF (1 << 20)
typedef int (*hd_refslot_fn)(void *ctx, int32_t off, bool compressed);
bool codeinfo_refmap(const struct hd_codeinfo *ci, int64_t index, hd_refslot_fn fn, void *ctx);

#endif
