#include "nodefields.h"

static const char *const record_class = "com.oracle.truffle.api.nodes.NodeClassImpl$NodeFieldData";

int nodefields_decode(struct hd_field_facts *ff, const struct fo_rows *rows,
		      const struct fo_geom *g, struct fo_result *res)
{
	/* A long offset; node fields are all instance fields. */
	return fo_decode(ff, rows, g, 8, false, HD_SRC_TRUFFLE, res);
}

int nodefields_facts(struct hd_field_facts *ff, const struct hd_names_input *in)
{
	return fo_source(ff, in, record_class, NULL, 0, 8, false, HD_SRC_TRUFFLE, NULL, NULL);
}
