#include "procfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long procfs_field(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[256];
	long long v = -1;
	size_t n = strlen(key);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtoll(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

long long procfs_number(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[64];
	long long v = -1;
	if (fgets(line, sizeof line, f) && line[0] >= '0' && line[0] <= '9')
		v = strtoll(line, NULL, 10);
	fclose(f);
	return v;
}
