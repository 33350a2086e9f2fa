#!/usr/bin/env python3
"""Hand-crafted HPROF files for testing hprof-check (and for probing how
VisualVM's heap library treats edge cases hdump might produce).

    hprofgen.py list                 # scenario names, expected exit, comment
    hprofgen.py SCENARIO OUT.hprof   # write one scenario
    hprofgen.py all DIR              # write every scenario as DIR/SCENARIO.hprof

Everything is big-endian per the HPROF spec.  Scenarios start from a small
"base" heap that is valid and self-consistent, then break exactly one thing,
so a failing expectation points at one library behaviour.
"""

import struct
import sys

# HPROF basic types
OBJ, BOOL, CHAR, FLOAT, DOUBLE, BYTE, SHORT, INT, LONG = 2, 4, 5, 6, 7, 8, 9, 10, 11
TYPE_SIZE = {BOOL: 1, CHAR: 2, FLOAT: 4, DOUBLE: 8, BYTE: 1, SHORT: 2, INT: 4, LONG: 8}
PACK = {BOOL: 'b', CHAR: 'H', FLOAT: 'f', DOUBLE: 'd', BYTE: 'b', SHORT: 'h', INT: 'i', LONG: 'q'}


class Hprof:
    """Minimal HPROF writer.  Heap sub-records are collected in order and
    emitted either as one HEAP DUMP (0x0C) or as HEAP DUMP SEGMENTs (0x1C)
    plus HEAP DUMP END, which is what HotSpot (and hdump) write."""

    def __init__(self, id_size=8, version='1.0.2'):
        self.id_size = id_size
        self.version = version
        self.top = []          # top-level records before the heap dump: bytes
        self.sub = []          # heap dump sub-records: bytes
        self.strings = {}
        self.next_string_id = 0x1000
        self.class_serial = 0
        self.fields = {}       # class id -> [(name, type)] own instance fields
        self.supers = {}

    def id(self, v):
        return struct.pack('>Q' if self.id_size == 8 else '>I', v)

    def record(self, tag, body):
        return struct.pack('>BII', tag, 0, len(body)) + body

    def utf8(self, s):
        if s not in self.strings:
            sid = self.next_string_id
            self.next_string_id += 8
            self.strings[s] = sid
            self.top.append(self.record(0x01, self.id(sid) + s.encode('utf-8')))
        return self.strings[s]

    def load_class(self, cid, name):
        """Returns the class serial number (what STACK FRAME records name)."""
        self.class_serial += 1
        nid = self.utf8(name)
        self.top.append(self.record(0x02, struct.pack('>I', self.class_serial) + self.id(cid)
                                    + struct.pack('>I', 0) + self.id(nid)))
        return self.class_serial

    def stack_frame(self, fid, method, source, class_serial, line):
        self.top.append(self.record(0x04, self.id(fid) + self.id(self.utf8(method)) + self.id(self.utf8('()V'))
                                    + self.id(self.utf8(source)) + struct.pack('>Ii', class_serial, line)))

    def stack_trace(self, serial, thread_serial, frame_ids):
        self.top.append(self.record(0x05, struct.pack('>III', serial, thread_serial, len(frame_ids))
                                    + b''.join(self.id(f) for f in frame_ids)))

    def value(self, t, v):
        return self.id(v) if t == OBJ else struct.pack('>' + PACK[t], v)

    def class_dump(self, cid, super_id=0, fields=(), statics=(), instance_size=None, loader=0):
        """fields: [(name, type)]; statics: [(name, type, value)]"""
        self.fields[cid] = list(fields)
        self.supers[cid] = super_id
        if instance_size is None:
            instance_size = 16 + sum(self.id_size if t == OBJ else TYPE_SIZE[t] for _, t in self.all_fields(cid))
        b = self.id(cid) + struct.pack('>I', 0) + self.id(super_id) + self.id(loader) + self.id(0) * 4
        b += struct.pack('>I', instance_size)
        b += struct.pack('>H', 0)  # constant pool
        b += struct.pack('>H', len(statics))
        for name, t, v in statics:
            b += self.id(self.utf8(name)) + bytes([t]) + self.value(t, v)
        b += struct.pack('>H', len(fields))
        for name, t in fields:
            b += self.id(self.utf8(name)) + bytes([t])
        self.sub.append(b'\x20' + b)

    def all_fields(self, cid):
        out = []
        while cid:
            out += self.fields.get(cid, [])
            cid = self.supers.get(cid, 0)
        return out

    def instance(self, oid, cid, values=None, raw=None, length_delta=0):
        """values: {field name: value} for the whole class chain (missing = 0).
        raw overrides the field bytes; length_delta lies about their length."""
        if raw is None:
            values = values or {}
            raw = b''.join(self.value(t, values.get(n, 0)) for n, t in self.all_fields(cid))
        b = self.id(oid) + struct.pack('>I', 0) + self.id(cid) + struct.pack('>I', len(raw) + length_delta) + raw
        self.sub.append(b'\x21' + b)

    def obj_array(self, oid, cid, elems):
        b = self.id(oid) + struct.pack('>II', 0, len(elems)) + self.id(cid) + b''.join(self.id(e) for e in elems)
        self.sub.append(b'\x22' + b)

    def prim_array(self, oid, t, data):
        """data: list of values, or bytes for BYTE arrays."""
        if isinstance(data, (bytes, bytearray)):
            raw, n = bytes(data), len(data)
        else:
            raw, n = b''.join(struct.pack('>' + PACK[t], v) for v in data), len(data)
        self.sub.append(b'\x23' + self.id(oid) + struct.pack('>II', 0, n) + bytes([t]) + raw)

    def root(self, kind, oid, serials=(1, 0)):
        """kind: HPROF root sub-tag (0xff, 0x01..0x08, 0x89..0x8e); serials: the
        two u4 of JNI local, java frame (thread, frame number) and thread
        object (thread, stack trace) roots."""
        if kind == 0x01:
            extra = self.id(0)
        elif kind in (0x02, 0x03, 0x08):
            extra = struct.pack('>II', *serials)
        elif kind in (0x04, 0x06):
            extra = struct.pack('>I', 1)
        else:
            extra = b''
        self.sub.append(bytes([kind]) + self.id(oid) + extra)

    def build(self, mode='segments', per_segment=None, between_segments=b'', end=True,
              empty_segment=False, split_dump_at=None):
        out = b'JAVA PROFILE ' + self.version.encode() + b'\0'
        out += struct.pack('>IQ', self.id_size, 0)
        out += b''.join(self.top)
        subs = self.sub
        if mode == 'dump':
            if split_dump_at is None:
                out += self.record(0x0c, b''.join(subs))
            else:  # two separate HEAP DUMP records
                out += self.record(0x0c, b''.join(subs[:split_dump_at]))
                out += self.record(0x0c, b''.join(subs[split_dump_at:]))
            return out
        per = per_segment or len(subs) or 1
        chunks = [subs[i:i + per] for i in range(0, len(subs), per)] or [[]]
        for i, c in enumerate(chunks):
            if i > 0:
                out += between_segments
            out += self.record(0x1c, b''.join(c))
        if empty_segment:
            out += self.record(0x1c, b'')
        if end:
            out += self.record(0x2c, b'')
        return out


# ---------------------------------------------------------------------------
# ids used by the base heap
C_OBJECT, C_CLASS, C_STRING, C_BYTEARR, C_OBJARR, C_HOLDER, C_UTF16 = 0x100, 0x108, 0x110, 0x118, 0x120, 0x128, 0x130
C_CHARARR = 0x138
O_HOLDER, O_STR, O_STRVAL, O_ARR = 0x10000, 0x10008, 0x10010, 0x10018
O_STR2, O_STR2VAL = 0x10020, 0x10028
MISSING = 0xdead0


def base(id_size=8, version='1.0.2', with_string=True):
    """A tiny valid heap: Holder h {f -> "hello-hprofgen"}, Object[] {h, Holder.class}."""
    h = Hprof(id_size, version)
    for cid, name in [(C_OBJECT, 'java/lang/Object'), (C_CLASS, 'java/lang/Class'),
                      (C_STRING, 'java/lang/String'), (C_BYTEARR, '[B'),
                      (C_OBJARR, '[Ljava/lang/Object;'), (C_HOLDER, 'Holder')]:
        h.load_class(cid, name)
    h.class_dump(C_OBJECT)
    h.class_dump(C_CLASS, C_OBJECT)
    h.class_dump(C_STRING, C_OBJECT, fields=[('value', OBJ), ('coder', BYTE), ('hash', INT)])
    h.class_dump(C_BYTEARR, C_OBJECT)
    h.class_dump(C_OBJARR, C_OBJECT)
    h.class_dump(C_HOLDER, C_OBJECT, fields=[('f', OBJ), ('n', INT)])
    for cid in (C_OBJECT, C_CLASS, C_STRING, C_BYTEARR, C_OBJARR, C_HOLDER):
        h.root(0x05, cid)
    h.instance(O_HOLDER, C_HOLDER, {'f': O_STR, 'n': 42})
    h.instance(O_STR, C_STRING, {'value': O_STRVAL, 'coder': 0})
    h.prim_array(O_STRVAL, BYTE, b'hello-hprofgen')
    h.obj_array(O_ARR, C_OBJARR, [O_HOLDER, C_HOLDER, 0])
    h.root(0x01, O_ARR)
    return h


def sc_valid(h=None):
    return base().build()


def sc_valid_id4():
    return base(id_size=4).build()


def sc_valid_heap_dump_record():
    return base().build(mode='dump')


def sc_valid_many_segments():
    return base().build(per_segment=2)


def sc_minimal_dangling():
    # The smallest file the brief asks for: Object + Holder, one instance whose
    # field points nowhere, then HEAP DUMP END.
    h = Hprof()
    h.load_class(C_OBJECT, 'java/lang/Object')
    h.load_class(C_HOLDER, 'Holder')
    h.class_dump(C_OBJECT)
    h.class_dump(C_HOLDER, C_OBJECT, fields=[('f', OBJ)])
    h.instance(O_HOLDER, C_HOLDER, {'f': MISSING})
    return h.build()


def sc_dangling_field():
    h = base()
    h.instance(0x20000, C_HOLDER, {'f': MISSING})
    return h.build()


def sc_dangling_array():
    h = base()
    h.obj_array(0x20000, C_OBJARR, [O_HOLDER, MISSING, MISSING + 8])
    return h.build()


def sc_dangling_static():
    h = base()
    h.load_class(0x140, 'WithStatic')
    h.class_dump(0x140, C_OBJECT, statics=[('S', OBJ, MISSING)])
    return h.build()


def sc_dangling_root():
    h = base()
    h.root(0x01, MISSING)
    return h.build()


def sc_field_refs_class():
    # Object field pointing at a CLASS DUMP id: VisualVM resolves it to a
    # java.lang.Class pseudo-instance, so it is not dangling.
    h = base()
    h.instance(0x20000, C_HOLDER, {'f': C_STRING})
    return h.build()


def sc_field_refs_class_no_java_lang_Class():
    # Same, but without a java.lang.Class class dump: the pseudo-instance has
    # no class.
    h = Hprof()
    h.load_class(C_OBJECT, 'java/lang/Object')
    h.load_class(C_HOLDER, 'Holder')
    h.class_dump(C_OBJECT)
    h.class_dump(C_HOLDER, C_OBJECT, fields=[('f', OBJ)])
    h.instance(O_HOLDER, C_HOLDER, {'f': C_HOLDER})
    h.root(0x01, O_HOLDER)
    return h.build()


def sc_instance_of_java_lang_Class():
    # An INSTANCE DUMP whose class is java.lang.Class (fresh id, not a class
    # dump id): counted as an ordinary java.lang.Class instance.
    h = base()
    h.instance(0x20000, C_CLASS)
    h.instance(0x20008, C_HOLDER, {'f': 0x20000})
    return h.build()


def sc_instance_dup_class_id():
    # An INSTANCE DUMP of java.lang.Class reusing a CLASS DUMP id (i.e. writing
    # the class mirror twice).
    h = base()
    h.instance(C_HOLDER, C_CLASS)
    return h.build()


def sc_duplicate_instance_id():
    h = base()
    h.instance(O_HOLDER, C_HOLDER, {'f': 0, 'n': 7})
    return h.build()


def utf8_reused(text):
    # The id of Holder's field name 'n' written again: the same text is
    # harmless, another renames the field (or whatever shares the id).
    h = base()
    h.top.append(h.record(0x01, h.id(h.utf8('n')) + text.encode('utf-8')))
    return h.build()


def sc_utf8_id_reused():
    return utf8_reused('COUNT')


def sc_utf8_id_repeated_same_text():
    return utf8_reused('n')


def sc_prim_array_no_class():
    # int[] instance but no CLASS DUMP named [I / int[].
    h = base()
    h.prim_array(0x20000, INT, [1, 2, 3])
    return h.build()


def sc_prim_array_class_no_dump_but_load_class():
    # LOAD CLASS for [I exists but there is no CLASS DUMP for it.
    h = base()
    h.load_class(0x150, '[I')
    h.prim_array(0x20000, INT, [1, 2, 3])
    return h.build()


def sc_prim_array_class_named_int_brackets():
    # Class named "int[]" (not "[I") is also accepted by the library.
    h = base()
    h.load_class(0x150, 'int[]')
    h.class_dump(0x150, C_OBJECT)
    h.prim_array(0x20000, INT, [1, 2, 3])
    return h.build()


def field_order_base():
    h = base()
    h.load_class(0x140, 'Sub')
    h.class_dump(0x140, C_HOLDER, fields=[('g', OBJ)])  # Sub extends Holder
    return h


def sc_field_order_subclass_first():
    # INSTANCE DUMP field data: the class's own fields first, then its super
    # class's, and so on up to java.lang.Object (what HotSpot writes and what
    # the library assumes).
    h = field_order_base()
    h.instance(0x20000, 0x140, {'g': O_STR, 'f': O_HOLDER, 'n': 42})
    return h.build()


def sc_field_order_superclass_first():
    # Same object written super-class-first: the library then reads g=f's
    # value, f=garbage made of n and g -> dangling.
    h = field_order_base()
    raw = h.id(O_HOLDER) + struct.pack('>i', 42) + h.id(O_STR)
    h.instance(0x20000, 0x140, raw=raw)
    return h.build()


def sc_instance_longer_than_fields():
    h = base()
    h.instance(0x20000, C_HOLDER, raw=h.id(O_STR) + struct.pack('>i', 1) + b'\0' * 4)
    return h.build()


def sc_instance_shorter_than_fields():
    h = base()
    h.instance(0x20000, C_HOLDER, raw=h.id(O_STR))  # 'n' missing
    return h.build()


def sc_classless_instance():
    h = base()
    h.instance(0x20000, 0x999, raw=b'')
    h.obj_array(0x20008, 0x998, [])
    return h.build()


def sc_class_dump_after_instances():
    h = base()
    h.load_class(0x140, 'Late')
    h.class_dump(0x140, C_OBJECT, fields=[('x', INT)])
    h.instance(0x20000, 0x140, {'x': 1})
    return h.build()


def sc_no_load_class():
    h = base()
    h.class_dump(0x140, C_OBJECT)
    return h.build()


def sc_unresolved_field_name():
    h = base()
    h.load_class(0x140, 'BadField')
    b = h.id(0x140) + struct.pack('>I', 0) + h.id(C_OBJECT) + h.id(0) * 5 + struct.pack('>I', 20)
    b += struct.pack('>HH', 0, 0) + struct.pack('>H', 1) + h.id(0x7777777) + bytes([INT])
    h.sub.append(b'\x20' + b)
    return h.build()


def sc_missing_super():
    h = base()
    h.load_class(0x140, 'Orphan')
    h.class_dump(0x140, 0x9999)
    return h.build()


def sc_zero_length_segment():
    return base().build(empty_segment=True)


def sc_missing_heap_dump_end():
    return base().build(end=False)


def sc_two_heap_dumps():
    return base().build(mode='dump', split_dump_at=10)


def sc_toplevel_between_segments():
    h = base()
    extra = h.record(0x01, h.id(0x7fff0) + b'interleaved')
    return h.build(per_segment=3, between_segments=extra)


def sc_straddling_subrecord():
    # One sub-record split across two segments.
    h = base()
    out = b'JAVA PROFILE 1.0.2\0' + struct.pack('>IQ', 8, 0) + b''.join(h.top)
    body = b''.join(h.sub)
    cut = len(h.sub[0]) + 5
    out += h.record(0x1c, body[:cut]) + h.record(0x1c, body[cut:]) + h.record(0x2c, b'')
    return out


def sc_unknown_subrecord():
    h = base()
    h.sub.append(b'\x42' + b'\0' * 8)
    return h.build()


def sc_all_root_kinds():
    h = base()
    for k in (0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e):
        h.root(k, O_HOLDER)
    return h.build()


def sc_all_root_kinds_103():
    h = base(version='1.0.3')
    for k in (0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e):
        h.root(k, O_HOLDER)
    return h.build()


def utf16_base(with_utf16_class):
    h = base()
    if with_utf16_class:
        h.load_class(C_UTF16, 'java/lang/StringUTF16')
        h.class_dump(C_UTF16, C_OBJECT, statics=[('HI_BYTE_SHIFT', INT, 0), ('LO_BYTE_SHIFT', INT, 8)])
    h.instance(O_STR2, C_STRING, {'value': O_STR2VAL, 'coder': 1})
    h.prim_array(O_STR2VAL, BYTE, 'h\u00e9llo-\u20ac'.encode('utf-16-le'))
    h.instance(0x20000, C_HOLDER, {'f': O_STR2})
    return h


def sc_utf16_string():
    return utf16_base(True).build()


def sc_utf16_string_no_StringUTF16():
    return utf16_base(False).build()


def sc_char_array_string():
    # Pre-compact-strings layout: String.value is char[] and there is no coder.
    h = Hprof()
    for cid, name in [(C_OBJECT, 'java/lang/Object'), (C_CLASS, 'java/lang/Class'),
                      (C_STRING, 'java/lang/String'), (C_CHARARR, '[C')]:
        h.load_class(cid, name)
    h.class_dump(C_OBJECT)
    h.class_dump(C_CLASS, C_OBJECT)
    h.class_dump(C_STRING, C_OBJECT, fields=[('value', OBJ), ('hash', INT)])
    h.class_dump(C_CHARARR, C_OBJECT)
    h.instance(O_STR, C_STRING, {'value': O_STRVAL})
    h.prim_array(O_STRVAL, CHAR, [ord(c) for c in 'chars-\u20ac'])
    h.root(0x01, O_STR)
    return h.build()


# ---------------------------------------------------------------------------
# Field names (--naming): JDK classes with their real fields, and values that
# fit them.  Ids of the classes and objects added to the base heap:
C_ABSMAP, C_HASHMAP, C_NODE, C_NODEARR, C_ABSLIST, C_ARRAYLIST, C_SYNTH, C_STATICS = (
    0x200, 0x208, 0x210, 0x218, 0x220, 0x228, 0x230, 0x238)
C_SLOTTED, C_BADSLOT = 0x240, 0x248
O_MAP, O_TABLE, O_NODE1, O_NODE2, O_KEY1, O_KEY1VAL, O_KEY2, O_KEY2VAL = (
    0x30000, 0x30008, 0x30010, 0x30018, 0x30020, 0x30028, 0x30030, 0x30038)
O_LIST, O_ELEMS, O_SYNTH1, O_SYNTH2, O_SLOTTED, O_BADSLOT = 0x30040, 0x30048, 0x30050, 0x30058, 0x30060, 0x30068


def java_hash(s):
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xffffffff
    return h - (1 << 32) if h & 0x80000000 else h


def spread(s):
    """HashMap.hash() of a String key, as a signed int."""
    h = java_hash(s) & 0xffffffff
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def named_jdk(array_list_size_type=INT, map_extra=()):
    """HashMap {"a" -> Holder, "b" -> Holder} in one bucket chain, an
    ArrayList holding the map, two instances of a class with synthetic field
    names, one whose identity hash and padding are named as slots, one with
    a slot of the wrong kind, and a class with a named and a synthetic
    static."""
    h = base()
    for cid, name in [(C_ABSMAP, 'java/util/AbstractMap'), (C_HASHMAP, 'java/util/HashMap'),
                      (C_NODE, 'java/util/HashMap$Node'), (C_NODEARR, '[Ljava/util/HashMap$Node;'),
                      (C_ABSLIST, 'java/util/AbstractList'), (C_ARRAYLIST, 'java/util/ArrayList'),
                      (C_SYNTH, 'Synth'), (C_STATICS, 'Statics'), (C_SLOTTED, 'Slotted'), (C_BADSLOT, 'BadSlot')]:
        h.load_class(cid, name)
    h.class_dump(C_ABSMAP, C_OBJECT, fields=[('keySet', OBJ), ('values', OBJ)])
    h.class_dump(C_HASHMAP, C_ABSMAP, fields=[('table', OBJ), ('entrySet', OBJ), ('size', INT), ('modCount', INT),
                                              ('threshold', INT), ('loadFactor', FLOAT)] + list(map_extra))
    h.class_dump(C_NODE, C_OBJECT, fields=[('hash', INT), ('key', OBJ), ('value', OBJ), ('next', OBJ)])
    h.class_dump(C_NODEARR, C_OBJECT)
    h.class_dump(C_ABSLIST, C_OBJECT, fields=[('modCount', INT)])
    h.class_dump(C_ARRAYLIST, C_ABSLIST, fields=[('elementData', OBJ), ('size', array_list_size_type)])
    h.class_dump(C_SYNTH, C_OBJECT, fields=[('ref@16', OBJ), ('i32@24', INT)])
    h.class_dump(C_STATICS, C_OBJECT, statics=[('CACHE', OBJ, O_MAP), ('i32@16', INT, 5)])
    h.class_dump(C_SLOTTED, C_OBJECT, fields=[('x', INT), ('<hash>', INT), ('<pad>', SHORT)])
    h.class_dump(C_BADSLOT, C_OBJECT, fields=[('<monitor>', INT)])
    h.instance(O_SLOTTED, C_SLOTTED, {'x': 1, '<hash>': 0x1234})
    h.instance(O_BADSLOT, C_BADSLOT)
    h.instance(O_MAP, C_HASHMAP, {'table': O_TABLE, 'size': 2, 'threshold': 3, 'loadFactor': 0.75})
    h.obj_array(O_TABLE, C_NODEARR, [0, O_NODE1, 0, 0])
    h.instance(O_NODE1, C_NODE, {'hash': spread('a'), 'key': O_KEY1, 'value': O_HOLDER, 'next': O_NODE2})
    h.instance(O_NODE2, C_NODE, {'hash': spread('b'), 'key': O_KEY2, 'value': O_HOLDER})
    h.instance(O_KEY1, C_STRING, {'value': O_KEY1VAL, 'hash': java_hash('a')})  # hash cached
    h.prim_array(O_KEY1VAL, BYTE, b'a')
    h.instance(O_KEY2, C_STRING, {'value': O_KEY2VAL})  # hash not computed yet
    h.prim_array(O_KEY2VAL, BYTE, b'b')
    h.instance(O_LIST, C_ARRAYLIST, {'elementData': O_ELEMS, 'size': 1})
    h.obj_array(O_ELEMS, C_OBJARR, [O_MAP, 0])
    h.instance(O_SYNTH1, C_SYNTH, {'ref@16': O_LIST})
    h.instance(O_SYNTH2, C_SYNTH)
    for cid in (C_ABSMAP, C_HASHMAP, C_NODE, C_NODEARR, C_ABSLIST, C_ARRAYLIST, C_SYNTH, C_STATICS,
                C_SLOTTED, C_BADSLOT):
        h.root(0x05, cid)
    for oid in (O_SYNTH1, O_SYNTH2, O_SLOTTED, O_BADSLOT):
        h.root(0x01, oid)
    return h


def sc_named_jdk():
    return named_jdk().build()


def sc_named_jdk_wrong():
    # Each a name a writer could get wrong: a node's next holding a String,
    # a String's cached hash and a node's hash that are not theirs, an
    # ArrayList's elementData a byte[]; a name HashMap does not declare and
    # an ArrayList.size of the wrong type.
    h = named_jdk(array_list_size_type=LONG, map_extra=[('foo', INT)])
    h.instance(0x40000, C_NODE, {'hash': spread('a'), 'key': O_KEY1, 'next': O_KEY2})
    h.instance(0x40008, C_STRING, {'value': O_KEY1VAL, 'hash': java_hash('a') + 1})
    h.instance(0x40010, C_ARRAYLIST, {'elementData': O_KEY1VAL})
    h.instance(0x40018, C_NODE, {'hash': spread('b'), 'key': O_KEY1})
    for oid in (0x40000, 0x40008, 0x40010, 0x40018):
        h.root(0x01, oid)
    return h.build()


def box_caches(wrong):
    """Long$LongCache.cache, the 256 Longs -128..127 (with WRONG: element 3
    boxes 7, and Byte$ByteCache.cache is that same Long[])."""
    h = base()
    c_long, c_longarr, c_cache, c_bytecache = 0x400, 0x408, 0x410, 0x418
    o_arr = 0x70000
    h.load_class(c_long, 'java/lang/Long')
    h.load_class(c_longarr, '[Ljava/lang/Long;')
    h.load_class(c_cache, 'java/lang/Long$LongCache')
    h.class_dump(c_long, C_OBJECT, fields=[('value', LONG)])
    h.class_dump(c_longarr, C_OBJECT)
    h.class_dump(c_cache, C_OBJECT, statics=[('cache', OBJ, o_arr)])
    if wrong:
        h.load_class(c_bytecache, 'java/lang/Byte$ByteCache')
        h.class_dump(c_bytecache, C_OBJECT, statics=[('cache', OBJ, o_arr)])
    elems = [o_arr + 8 * (k + 1) for k in range(256)]
    h.obj_array(o_arr, c_longarr, elems)
    for k, oid in enumerate(elems):
        h.instance(oid, c_long, {'value': 7 if wrong and k == 3 else k - 128})
    for cid in (c_long, c_longarr, c_cache) + ((c_bytecache,) if wrong else ()):
        h.root(0x05, cid)
    return h.build()


def sc_box_caches():
    return box_caches(False)


def sc_box_caches_wrong():
    return box_caches(True)


# ---------------------------------------------------------------------------
# Threads (--stacks): "main" runs Main.run <- Main.main and holds Holder in
# its frame 1; "worker" has one frame whose class the dump does not know and
# holds the String from a frame it cannot tell.
C_THREAD, C_MAIN = 0x300, 0x308
O_T1, O_T1NAME, O_T1NAMEVAL, O_T2, O_T2NAME, O_T2NAMEVAL = 0x50000, 0x50008, 0x50010, 0x50018, 0x50020, 0x50028


def stacks(frame_thread_serial=1):
    h = base()
    h.load_class(C_THREAD, 'java/lang/Thread')
    main_serial = h.load_class(C_MAIN, 'Main')
    h.class_dump(C_THREAD, C_OBJECT, fields=[('name', OBJ), ('tid', LONG)])
    h.class_dump(C_MAIN, C_OBJECT)
    h.stack_frame(0x60000, 'run', 'Main.java', main_serial, 10)
    h.stack_frame(0x60008, 'main', 'Main.java', main_serial, 3)
    h.stack_frame(0x60010, 'work', 'Unknown.java', 999, -1)
    h.stack_trace(2, 1, [0x60000, 0x60008])
    h.stack_trace(3, 2, [0x60010])
    for oid, name_id, val_id, name, tid in [(O_T1, O_T1NAME, O_T1NAMEVAL, b'main', 1),
                                            (O_T2, O_T2NAME, O_T2NAMEVAL, b'worker', 2)]:
        h.instance(oid, C_THREAD, {'name': name_id, 'tid': tid})
        h.instance(name_id, C_STRING, {'value': val_id})
        h.prim_array(val_id, BYTE, name)
    h.root(0x05, C_THREAD)
    h.root(0x05, C_MAIN)
    h.root(0x08, O_T1, serials=(1, 2))
    h.root(0x08, O_T2, serials=(2, 3))
    h.root(0x03, O_HOLDER, serials=(frame_thread_serial, 1))
    h.root(0x03, O_STR, serials=(2, 0xffffffff))
    return h


def sc_stacks():
    return stacks().build()


def sc_stacks_frame_of_no_thread():
    return stacks(frame_thread_serial=7).build()


# name -> (function, expected exit code, comment)
SCENARIOS = {
    'valid': (sc_valid, 0, 'base heap, HEAP DUMP SEGMENT + END'),
    'valid_id4': (sc_valid_id4, 0, '4-byte ids'),
    'valid_heap_dump_record': (sc_valid_heap_dump_record, 0, 'single HEAP DUMP (0x0C) record'),
    'valid_many_segments': (sc_valid_many_segments, 0, 'sub-records spread over many segments'),
    'minimal_dangling': (sc_minimal_dangling, 1, 'brief: Object+Holder, f -> nonexistent id'),
    'dangling_field': (sc_dangling_field, 1, 'instance field -> nonexistent id'),
    'dangling_array': (sc_dangling_array, 1, 'Object[] elements -> nonexistent ids'),
    'dangling_static': (sc_dangling_static, 1, 'static field -> nonexistent id'),
    'dangling_root': (sc_dangling_root, 1, 'JNI global root -> nonexistent id'),
    'field_refs_class': (sc_field_refs_class, 0, 'field -> CLASS DUMP id (resolves)'),
    'field_refs_class_no_java_lang_Class': (sc_field_refs_class_no_java_lang_Class, 1,
                                            'field -> class id, no java.lang.Class dump'),
    'instance_of_java_lang_Class': (sc_instance_of_java_lang_Class, 0, 'INSTANCE DUMP of java.lang.Class, own id'),
    'instance_dup_class_id': (sc_instance_dup_class_id, 1, 'INSTANCE DUMP of java.lang.Class reusing a class id'),
    'duplicate_instance_id': (sc_duplicate_instance_id, 1, 'two INSTANCE DUMPs with the same id'),
    'prim_array_no_class': (sc_prim_array_no_class, 2, 'int[] record, no [I class at all'),
    'prim_array_class_no_dump_but_load_class': (sc_prim_array_class_no_dump_but_load_class, 2,
                                                'int[] record, LOAD CLASS [I but no CLASS DUMP'),
    'prim_array_class_named_int_brackets': (sc_prim_array_class_named_int_brackets, 0, 'class named "int[]"'),
    'field_order_subclass_first': (sc_field_order_subclass_first, 0, 'own fields, then super class fields'),
    'field_order_superclass_first': (sc_field_order_superclass_first, 1, 'super class fields first (wrong)'),
    'instance_longer_than_fields': (sc_instance_longer_than_fields, 1, 'INSTANCE DUMP length > field sizes'),
    'instance_shorter_than_fields': (sc_instance_shorter_than_fields, 1, 'INSTANCE DUMP length < field sizes'),
    'classless_instance': (sc_classless_instance, 1, 'instance/array whose class has no CLASS DUMP'),
    'class_dump_after_instances': (sc_class_dump_after_instances, 0, 'CLASS DUMP after instance records'),
    'no_load_class': (sc_no_load_class, 1, 'CLASS DUMP without LOAD CLASS (library names it garbage)'),
    'utf8_id_reused': (sc_utf8_id_reused, 1, 'one UTF8 id written twice with different texts'),
    'utf8_id_repeated_same_text': (sc_utf8_id_repeated_same_text, 0, 'one UTF8 id written twice, same text'),
    'unresolved_field_name': (sc_unresolved_field_name, 1, 'field name id with no UTF8 record'),
    'missing_super': (sc_missing_super, 1, 'super class id is not a CLASS DUMP'),
    'zero_length_segment': (sc_zero_length_segment, 2, 'empty HEAP DUMP SEGMENT record'),
    'missing_heap_dump_end': (sc_missing_heap_dump_end, 2, 'segments but no HEAP DUMP END'),
    'two_heap_dumps': (sc_two_heap_dumps, 1, 'two HEAP DUMP (0x0C) records'),
    'toplevel_between_segments': (sc_toplevel_between_segments, 2, 'UTF8 record between two segments'),
    'straddling_subrecord': (sc_straddling_subrecord, 2, 'sub-record split across segments'),
    'unknown_subrecord': (sc_unknown_subrecord, 2, 'unknown heap sub-record tag 0x42'),
    'all_root_kinds': (sc_all_root_kinds, 0, 'every root sub-tag, 1.0.2 header'),
    'all_root_kinds_103': (sc_all_root_kinds_103, 0, '1.0.3 root sub-tags, 1.0.3 header'),
    'utf16_string': (sc_utf16_string, 0, 'coder=1 String + StringUTF16 class'),
    'utf16_string_no_StringUTF16': (sc_utf16_string_no_StringUTF16, 1, 'coder=1 String, no StringUTF16 class'),
    'char_array_string': (sc_char_array_string, 0, 'String.value is char[] (no coder)'),
    'named_jdk': (sc_named_jdk, 0, 'HashMap, ArrayList, String with real names; synthetic names; statics'),
    'named_jdk_wrong': (sc_named_jdk_wrong, 0, 'wrong names and values (a problem only with --naming)'),
    'box_caches': (sc_box_caches, 0, 'Long$LongCache.cache as a static, the Longs -128..127'),
    'box_caches_wrong': (sc_box_caches_wrong, 0, 'a cache element boxing the wrong value, a cache of the wrong type'),
    'stacks': (sc_stacks, 0, 'two threads with stack traces and java frame roots'),
    'stacks_frame_of_no_thread': (sc_stacks_frame_of_no_thread, 0,
                                  'java frame root of a thread serial no thread has (a problem with --stacks)'),
}


def main(argv):
    if len(argv) == 2 and argv[1] == 'list':
        for name, (_, rc, comment) in SCENARIOS.items():
            print('%s %d %s' % (name, rc, comment))
        return 0
    if len(argv) == 3 and argv[1] == 'all':
        for name, (gen, _, _) in SCENARIOS.items():
            with open('%s/%s.hprof' % (argv[2], name), 'wb') as f:
                f.write(gen())
        return 0
    if len(argv) != 3 or argv[1] not in SCENARIOS:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[2], 'wb') as f:
        f.write(SCENARIOS[argv[1]][0]())
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
