/* Runs a fuzz target over saved inputs (files, or directories of them), so
 * the regression corpus replays in the normal build: every input a fuzzer
 * ever crashed on must now pass. */
#include "../../common/hd_error.h"
#include "pipeline.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 1u << 16;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return -1;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	printf("replay: %s (%zu bytes): ", path, len);
	fflush(stdout);
	LLVMFuzzerTestOneInput(buf, len);
	printf("%s%s%s\n", fuzz_outcome, hd_error_class() != HD_OK ? ": " : "",
	       hd_error_class() != HD_OK ? hd_error_message() : "");
	free(buf);
	return 0;
}

static int replay(const char *path, unsigned *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		perror(path);
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && rc == 0) {
			char *child = malloc(strlen(path) + strlen(names[i]->d_name) + 2);
			if (!child)
				rc = -1;
			else {
				sprintf(child, "%s/%s", path, names[i]->d_name);
				rc = replay(child, count);
				free(child);
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &count) != 0)
			return 1;
	printf("replay: %u inputs, all passed\n", count);
	return count ? 0 : 1;
}
