#include "readat.h"

#include "interrupt.h"

#include <errno.h>
#include <unistd.h>

/* Reads go in pieces, so that a signal is noticed on a slow disk. */
#define READ_PIECE (4u << 20)

int hd_read_at(int fd, const char *path, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
		size_t want = len < READ_PIECE ? len : READ_PIECE;
		ssize_t n = pread(fd, p, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hd_fail_errno(HD_E_NOENT, errno, "%s: read", path);
		if (n == 0)
			return hd_fail(HD_E_LAYOUT, "%s: the file shrank while being read", path);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}
