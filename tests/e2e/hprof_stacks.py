#!/usr/bin/env python3
"""Reads an HPROF file's STACK FRAME and STACK TRACE records and its
ROOT_JAVA_FRAME roots (wherever they are: hdump writes the roots it finds on
the stacks after the objects) and prints key=value lines:
  frames=N          STACK FRAME records
  traces=N          thread traces (serial > 1)
  empty_traces=N    of those, traces without frames
  frame_roots=N     ROOT_JAVA_FRAME roots tied to a frame
  untied_roots=N    ROOT_JAVA_FRAME roots tied to none
  bad_frame_roots=N roots whose frame number is past their thread's trace
  unnamed_frames=N  frames whose method name record is missing or "?"
Usage: hprof_stacks.py FILE.hprof"""
import struct
import sys


def main(path):
    with open(path, 'rb') as f:
        data = f.read()
    end = data.index(b'\0')
    idsize = struct.unpack_from('>I', data, end + 1)[0]
    assert idsize in (4, 8), idsize
    ident = '>I' if idsize == 4 else '>Q'
    pos = end + 1 + 4 + 8
    utf8, frames, traces = {}, {}, {}
    roots = []
    while pos + 9 <= len(data):
        tag = data[pos]
        length = struct.unpack_from('>I', data, pos + 5)[0]
        body = pos + 9
        if tag == 0x01:
            utf8[struct.unpack_from(ident, data, body)[0]] = data[body + idsize:body + length]
        elif tag == 0x04:
            fid, mid = struct.unpack_from(ident + ident[1], data, body)
            frames[fid] = mid
        elif tag == 0x05:
            serial, thread, n = struct.unpack_from('>III', data, body)
            traces[thread] = n
        elif tag in (0x0c, 0x1c):
            heap_roots(data, body, body + length, roots, idsize)
        pos = body + length
    print('frames=%d' % len(frames))
    threads = {t: n for t, n in traces.items() if t > 0}
    print('traces=%d' % len(threads))
    print('empty_traces=%d' % sum(1 for n in threads.values() if n == 0))
    tied = [(t, k) for t, k in roots if k != 0xffffffff]
    print('frame_roots=%d' % len(tied))
    print('untied_roots=%d' % (len(roots) - len(tied)))
    print('bad_frame_roots=%d' % sum(1 for t, k in tied if k >= threads.get(t, 0)))
    print('unnamed_frames=%d' % sum(1 for m in frames.values() if utf8.get(m, b'?') == b'?'))


def heap_roots(data, pos, end, roots, idsize):
    """Collects the segment's ROOT_JAVA_FRAME (thread, frame) pairs."""
    ids = {0xff: 1, 0x01: 2, 0x02: 1, 0x04: 1, 0x05: 1, 0x06: 1, 0x07: 1, 0x08: 1}
    u4s = {0xff: 0, 0x01: 0, 0x02: 2, 0x04: 1, 0x05: 0, 0x06: 1, 0x07: 0, 0x08: 2}
    while pos < end:
        sub = data[pos]
        pos += 1
        if sub == 0x03:
            thread, frame = struct.unpack_from('>II', data, pos + idsize)
            roots.append((thread, frame))
            pos += idsize + 8
        elif sub in ids:
            pos += ids[sub] * idsize + u4s[sub] * 4
        elif sub == 0x20:
            pos = skip_class_dump(data, pos, idsize)
        elif sub == 0x21:
            pos += 2 * idsize + 4
            pos += 4 + struct.unpack_from('>I', data, pos)[0]
        elif sub == 0x22:
            n = struct.unpack_from('>I', data, pos + idsize + 4)[0]
            pos += 2 * idsize + 8 + n * idsize
        elif sub == 0x23:
            n = struct.unpack_from('>I', data, pos + idsize + 4)[0]
            pos += idsize + 9 + n * ELEM[data[pos + idsize + 8]]
        else:
            raise ValueError('heap-dump sub-record 0x%02x at %d' % (sub, pos - 1))


ELEM = {4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}


def skip_class_dump(data, pos, idsize):
    sizes = {2: idsize, 4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}
    pos += idsize + 4 + idsize * 6 + 4
    n = struct.unpack_from('>H', data, pos)[0]
    pos += 2
    for _ in range(n):
        pos += 2
        pos += 1 + sizes[data[pos]]
    n = struct.unpack_from('>H', data, pos)[0]
    pos += 2
    for _ in range(n):
        pos += idsize
        pos += 1 + sizes[data[pos]]
    n = struct.unpack_from('>H', data, pos)[0]
    return pos + 2 + (idsize + 1) * n


if __name__ == '__main__':
    main(sys.argv[1])
