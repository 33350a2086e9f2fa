#include "dcacheuse.h"

#include "../common/interrupt.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void say(const struct hd_events *ev, enum hdump_event_kind kind, const char *what,
		const char *why)
{
	char line[512];
	snprintf(line, sizeof line, "discovery cache: %s%s%s", what, why ? ": " : "",
		 why ? why : "");
	events_text(ev, kind, line);
}

bool dcache_use_open(struct dcache_use *u, const struct hd_elfimage *img, const char *jdk_dir,
		     const struct hd_events *ev)
{
	if (!u)
		return false;
	u->state = HDUMP_DCACHE_OFF;
	/* a discovery tried again after a failure: nothing reads the last entry */
	dcache_buf_free(u->file, u->file_len);
	u->file = NULL;
	if (!u->dir)
		return false;
	u->ident_known = dcache_ident(&u->ident, img);
	u->by_ident = u->ident_known && dcache_index_find(u->dir, &u->ident);
	if (!u->by_ident)
		u->ident.heap_hash = dcache_heap_hash(img);
	dcache_key(&u->key, img, u->ident.heap_hash, jdk_dir);
	bool found = false;
	if (dcache_read(u->dir, &u->key, &u->file, &u->file_len, &found) != 0) {
		/* a directory or file others control is refused, and said */
		bool refused = hd_error_class() == HD_E_PERM;
		if (hd_error_class() == HD_E_INTERRUPTED)
			return false;
		u->state = refused ? HDUMP_DCACHE_OFF : HDUMP_DCACHE_STALE;
		say(ev, refused ? HDUMP_EVENT_WARNING : HDUMP_EVENT_VERBOSE,
		    refused ? "off" : "stale", hd_error_message());
		hd_error_clear();
		return false;
	}
	u->state = HDUMP_DCACHE_MISS;
	if (!found)
		return false;
	if (dcache_parse(u->file, u->file_len, &u->key, &u->off, &u->len) != 0) {
		u->state = HDUMP_DCACHE_STALE;
		say(ev, HDUMP_EVENT_VERBOSE, "stale", hd_error_message());
		hd_error_clear();
		return false;
	}
	return true;
}

void dcache_use_discard(const struct hd_discovery *d)
{
	classes_free(d->classes);
	statics_free(d->statics);
	memset(d->L, 0, sizeof *d->L);
	if (d->ci)
		codeinfo_free(d->ci);
	if (d->have_ci)
		*d->have_ci = false;
	if (d->roots)
		chunk_roots_free(d->roots);
	if (d->tl) /* what a stale entry said of VMThreads.head goes too */
		*d->tl = (struct hd_threadlocals){0};
}

bool dcache_use_apply(struct dcache_use *u, const struct hd_discovery *d, uint64_t start,
		      hd_memview *mv, const struct hd_events *ev)
{
	if (dcache_decode(d, start, u->file + u->off, u->len) == 0 && dcache_check(d, mv) == 0) {
		u->state = HDUMP_DCACHE_HIT;
		return true;
	}
	dcache_use_discard(d);
	if (hd_error_class() == HD_E_INTERRUPTED || hd_error_class() == HD_E_INTERNAL)
		return false; /* the caller's discovery meets the same and fails */
	u->state = HDUMP_DCACHE_STALE;
	say(ev, HDUMP_EVENT_VERBOSE, "stale, discovering afresh", hd_error_message());
	hd_error_clear();
	return false;
}

/* After a discovery that held up (the hash is then of an image heap hdump
 * can read): the identity index learns IMG's hash.  An identity whose
 * entry did not hit may be a wrong one (a clock set back): the entry to
 * write is then keyed by the bytes themselves, and the index corrected.
 * Failing to record costs the next run a hash. */
static void record_identity(struct dcache_use *u, const struct hd_elfimage *img)
{
	if (u->by_ident && u->state != HDUMP_DCACHE_HIT) {
		u->by_ident = false;
		u->ident.heap_hash = dcache_heap_hash(img);
		u->key.heap_hash = u->ident.heap_hash;
	}
	if (u->ident_known && !u->by_ident &&
	    dcache_index_add(u->dir, &u->ident, (int64_t)time(NULL)) != 0)
		hd_error_clear();
}

void dcache_use_done(struct dcache_use *u, const struct hd_elfimage *img,
		     const struct hd_discovery *d, const struct hd_events *ev)
{
	if (!u)
		return;
	const uint8_t *lo, *hi;
	if (u->state == HDUMP_DCACHE_HIT && d->ci && codeinfo_tables_span(d->ci, &lo, &hi)) {
		/* The hit's code info reads its tables in the entry
		 * (dcache_decode): the entry stays until dcache_use_free, less
		 * the pages of everything else. */
		dcache_buf_keep_only(u->file, u->file_len, lo, hi);
	} else {
		dcache_buf_free(u->file, u->file_len);
		u->file = NULL;
	}
	if (u->state != HDUMP_DCACHE_OFF && !hd_interrupted())
		record_identity(u, img);
	if (u->state == HDUMP_DCACHE_HIT) {
		char what[200];
		snprintf(what, sizeof what, "hit, %zu classes from %s (the executable %s)",
			 d->classes->n, u->dir, u->by_ident ? "known by its identity" : "hashed");
		say(ev, HDUMP_EVENT_VERBOSE, what, NULL);
		return;
	}
	u->unwritten = u->state == HDUMP_DCACHE_MISS || u->state == HDUMP_DCACHE_STALE;
}

void dcache_use_write(struct dcache_use *u, const struct hd_discovery *d,
		      const struct hd_events *ev)
{
	if (!u || !u->unwritten || hd_interrupted())
		return;
	u->unwritten = false;
	/* What the dump freed goes back first: the entry's encoding then
	 * takes pages of its own, not a rise over what the dump left. */
	malloc_trim(0);
	uint8_t *payload = NULL;
	size_t n = 0;
	struct hd_error_state before;
	hd_error_save(&before);
	if (dcache_encode(d, &payload, &n) != 0 || dcache_write(u->dir, &u->key, payload, n) != 0)
		say(ev, HDUMP_EVENT_WARNING, "not written", hd_error_message());
	else
		say(ev, HDUMP_EVENT_VERBOSE, u->state == HDUMP_DCACHE_MISS ? "miss, entry written"
			: "stale, entry rewritten", NULL);
	hd_error_restore(&before);
	free(payload);
}

void dcache_use_free(struct dcache_use *u)
{
	dcache_buf_free(u->file, u->file_len);
	free(u->dir);
	memset(u, 0, sizeof *u);
}
