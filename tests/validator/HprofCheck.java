/*
 * HprofCheck - independent HPROF validator for hdump's test suite.
 *
 * The point of this tool is to answer "would VisualVM accept this dump, and
 * does it see the object graph we meant to write?" without trusting any code
 * from hdump itself.  It therefore combines two views of the file:
 *
 *  1. VisualVM's own heap library (org-graalvm-visualvm-lib-jfluid-heap.jar,
 *     HeapFactory.createHeap).  Counts, class names, GC roots, strings and the
 *     resolution of every object id come from this library, because what it
 *     says is what a VisualVM user will see.
 *
 *  2. A small streaming HPROF parser written here.  The library is very
 *     forgiving: it silently hides instances whose class is unknown, reads
 *     instance fields by the class layout regardless of the record length, and
 *     never reports unresolvable ids.  Enumerating records and raw ids
 *     ourselves is the only way to *count* those defects, and it also lets us
 *     print hints when the library refuses the file altogether.
 *
 * Usage: java -cp <heap jar>:<classes> HprofCheck [options] FILE.hprof...
 * (normally via the "hprof-check" wrapper next to this file).  Several files
 * are checked one after the other with the same options, each from scratch
 * (its own library heap, raw scan and counters): one JVM start and warm-up
 * serve them all.
 *
 *   --histo N                  histo=<count> <bytes> <class name>, top N by count
 *   --strings-prefix P         strings_prefix_count=N, strings_prefix_distinct=N
 *   --string-equals S          string_found=<S> <0|1>   (repeatable, exact match)
 *   --class-names              class=<name> for every class (JavaClass.getName())
 *   --dump-strings-matching RE string=<value> for every String where RE.find()
 *                              (control chars escaped as \n, \xNN, backslash as \\)
 *   --unreachable              unreachable=N via the library's nearest-GC-root BFS
 *   --reachable-strings        with --dump-strings-matching: string_reachable=<0|1> <value>
 *   --naming                   how many fields carry real names, static fields, and
 *                              JDK classes whose fields are known checked by name,
 *                              type and value (see namingChecks):
 *                              naming_instances, naming_all_real, naming_all_real_pct,
 *                              naming_classes_with_synthetic, naming_synthetic_top=
 *                              <instances> <class> <names>..., naming_fields_real
 *                              (slots included), naming_fields_synthetic,
 *                              static_fields, static_fields_synthetic,
 *                              classes_with_statics, known_class=<name> fields_ok=0|1
 *                              missing= unexpected= wrong_type= synthetic= (lists or
 *                              none), naming_values_checked, static_caches_checked
 *                              (boxing caches, as statics), wrong_values
 *                              (+wrong_value_example=)
 *   --stacks                   threads, their stack traces and java frame roots as
 *                              the library shows them (see stackChecks): threads,
 *                              thread=<name> frames=N real_frames=N top=<class.method
 *                              of the first real frame|none>, threads_with_real_frame,
 *                              stack_frames, stack_frames_real, java_frame_roots,
 *                              java_frame_roots_tied, java_frame_roots_without_thread
 *
 * Output is "key=value", one per line, in this order (one such block per
 * file, in the order given, each starting with its file= line):
 *   file, [library view] classes, instances, gcroots, gcroot_kind=<kind> <n>...,
 *   gcroots_dangling, has_java_lang_Class, gc_root_path_support
 *   (hotspot|svm|none), [option output], has_java_lang_String, strings,
 *   strings_utf16, strings_null_value, [--naming keys], [--stacks keys],
 *   [unreachable],
 *   [raw view] format, id_size,
 *   raw_class_dumps, raw_instance_dumps, raw_obj_array_dumps,
 *   raw_prim_array_dumps, raw_instances, raw_gcroots, heap_dumps,
 *   class_dumps_after_instances, dangling (+dangling_example=), classless
 *   (+classless_example=), dangling_static, size_mismatch, duplicate_ids,
 *   class_without_load_class, unresolved_class_names, unresolved_field_names,
 *   bad_super, prim_array_class_missing, instances_match_records,
 *   library=ok|failed, [error=<one line>], problems=none|name:count,...,
 *   status=<the exit status below, of this file alone>
 * If the library fails, its keys are missing and the raw keys are computed
 * against our own id set instead (hints only).
 *
 * Exit (with several files, the highest of theirs): 0 = opened and problems=none; 1 = opened but some problem counter is
 * non-zero (dangling, classless, and the structural checks listed in
 * RawScan.report(); with --naming also wrong names and wrong values of known
 * JDK classes, with --stacks java frame roots of no thread); 2 = the library
 * could not open/parse the file.
 */

import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.BufferedOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

import org.graalvm.visualvm.lib.jfluid.heap.Field;
import org.graalvm.visualvm.lib.jfluid.heap.FieldValue;
import org.graalvm.visualvm.lib.jfluid.heap.GCRoot;
import org.graalvm.visualvm.lib.jfluid.heap.Heap;
import org.graalvm.visualvm.lib.jfluid.heap.HeapFactory;
import org.graalvm.visualvm.lib.jfluid.heap.Instance;
import org.graalvm.visualvm.lib.jfluid.heap.JavaClass;
import org.graalvm.visualvm.lib.jfluid.heap.JavaFrameGCRoot;
import org.graalvm.visualvm.lib.jfluid.heap.ObjectFieldValue;
import org.graalvm.visualvm.lib.jfluid.heap.ObjectArrayInstance;
import org.graalvm.visualvm.lib.jfluid.heap.PrimitiveArrayInstance;
import org.graalvm.visualvm.lib.jfluid.heap.ThreadObjectGCRoot;

public final class HprofCheck {

    // ---- HPROF constants (only what the raw parser needs) ----------------

    static final int TAG_STRING = 0x01, TAG_LOAD_CLASS = 0x02, TAG_HEAP_DUMP = 0x0c,
            TAG_HEAP_DUMP_SEGMENT = 0x1c, TAG_HEAP_DUMP_END = 0x2c;

    static final int SUB_CLASS_DUMP = 0x20, SUB_INSTANCE_DUMP = 0x21, SUB_OBJ_ARRAY = 0x22,
            SUB_PRIM_ARRAY = 0x23, SUB_PRIM_ARRAY_NODATA = 0xc3, SUB_HEAP_DUMP_INFO = 0xfe;

    static final int T_OBJECT = 2, T_BOOLEAN = 4, T_CHAR = 5, T_FLOAT = 6, T_DOUBLE = 7,
            T_BYTE = 8, T_SHORT = 9, T_INT = 10, T_LONG = 11;

    /** The library maps primitive array records to classes purely by these LOAD CLASS names. */
    static final Map<Integer, String[]> PRIM_ARRAY_NAMES = new HashMap<>();
    static {
        PRIM_ARRAY_NAMES.put(T_BOOLEAN, new String[] {"[Z", "boolean[]"});
        PRIM_ARRAY_NAMES.put(T_CHAR, new String[] {"[C", "char[]"});
        PRIM_ARRAY_NAMES.put(T_FLOAT, new String[] {"[F", "float[]"});
        PRIM_ARRAY_NAMES.put(T_DOUBLE, new String[] {"[D", "double[]"});
        PRIM_ARRAY_NAMES.put(T_BYTE, new String[] {"[B", "byte[]"});
        PRIM_ARRAY_NAMES.put(T_SHORT, new String[] {"[S", "short[]"});
        PRIM_ARRAY_NAMES.put(T_INT, new String[] {"[I", "int[]"});
        PRIM_ARRAY_NAMES.put(T_LONG, new String[] {"[J", "long[]"});
    }

    static final int MAX_EXAMPLES = 5;
    static final int NAMING_TOP = 10;

    // ---- options -------------------------------------------------------------

    int histoN = 0;
    String stringsPrefix = null;
    final List<String> stringEquals = new ArrayList<>();
    boolean classNames = false;
    Pattern dumpStringsPattern = null;
    boolean unreachable = false;
    boolean reachableStrings = false;
    boolean naming = false;
    boolean stacks = false;
    final List<String> files = new ArrayList<>();
    String file = null; // the one being checked

    final PrintStream out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false,
            StandardCharsets.UTF_8);

    /** Problem name -> count; anything non-zero here makes the exit status 1. */
    final Map<String, Long> problems = new LinkedHashMap<>();

    void problem(String name, long n) {
        if (n != 0) problems.merge(name, n, Long::sum);
    }

    void kv(String k, Object v) {
        out.println(k + "=" + v);
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    public static void main(String[] args) {
        List<String> files = new ArrayList<>();
        {
            HprofCheck c = new HprofCheck();
            if (!c.parseArgs(args)) {
                System.err.println(USAGE);
                System.exit(2);
            }
            files.addAll(c.files);
        }
        int worst = 0;
        for (String f : files) {
            // A fresh checker per file: no counter, problem or library state
            // of one file can leak into the verdict on the next.
            HprofCheck c = new HprofCheck();
            c.parseArgs(args);
            c.file = f;
            int rc;
            try {
                rc = c.run();
            } catch (Throwable t) {
                c.kv("error", oneLine(t));
                rc = 2;
            }
            c.kv("status", rc);
            c.out.flush();
            worst = Math.max(worst, rc);
        }
        System.exit(worst);
    }

    static final String USAGE =
        "usage: HprofCheck [--histo N] [--strings-prefix P] [--string-equals S]...\n"
        + "                  [--class-names] [--dump-strings-matching REGEX [--reachable-strings]] [--unreachable]\n"
        + "                  [--naming] [--stacks] FILE.hprof...";

    boolean parseArgs(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            boolean hasNext = i + 1 < args.length;
            switch (a) {
                case "--histo":
                    if (!hasNext) return false;
                    histoN = Integer.parseInt(args[++i]);
                    break;
                case "--strings-prefix":
                    if (!hasNext) return false;
                    stringsPrefix = args[++i];
                    break;
                case "--string-equals":
                    if (!hasNext) return false;
                    stringEquals.add(args[++i]);
                    break;
                case "--class-names":
                    classNames = true;
                    break;
                case "--dump-strings-matching":
                    if (!hasNext) return false;
                    dumpStringsPattern = Pattern.compile(args[++i]);
                    break;
                case "--unreachable":
                    unreachable = true;
                    break;
                case "--reachable-strings":
                    reachableStrings = true;
                    break;
                case "--naming":
                    naming = true;
                    break;
                case "--stacks":
                    stacks = true;
                    break;
                case "-h":
                case "--help":
                    return false;
                default:
                    if (a.startsWith("--")) return false;
                    files.add(a);
            }
        }
        return !files.isEmpty();
    }

    static String oneLine(Throwable t) {
        String m = t.getClass().getName() + ": " + t.getMessage();
        StackTraceElement[] st = t.getStackTrace();
        if (st.length > 0) m += " at " + st[0];
        return m.replace('\n', ' ').replace('\r', ' ');
    }

    // ---- main flow ------------------------------------------------------------

    int run() throws Exception {
        File dump = new File(file).getAbsoluteFile();
        kv("file", dump);
        if (!dump.isFile()) {
            kv("error", "no such file: " + dump);
            return 2;
        }

        // HeapFactory.createHeap(f) keeps an index in "<f>.hwcache/" next to the
        // dump and *reuses* it on the next open if only the header timestamp
        // matches.  Tests rewrite dumps under the same name, so a stale index
        // would silently validate the old file.  Opening through a symlink in a
        // private temp dir forces a fresh index and leaves no litter behind.
        Path tmp = Files.createTempDirectory("hprofcheck");
        try {
            Path link = tmp.resolve("dump.hprof");
            Files.createSymbolicLink(link, dump.toPath());
            return check(dump, link.toFile());
        } finally {
            deleteTree(tmp.toFile());
        }
    }

    static void deleteTree(File f) {
        File[] kids = f.listFiles();
        if (kids != null) for (File k : kids) deleteTree(k);
        f.delete();
    }

    int check(File dump, File link) throws Exception {
        Heap heap = null;
        String libError = null;
        try {
            heap = HeapFactory.createHeap(link);
            libraryChecks(heap);
        } catch (Throwable t) {
            // Anything the library throws (IOException for structural errors,
            // IllegalArgumentException/NPE from lazy parsing) means VisualVM
            // would not show this dump properly.
            libError = oneLine(t);
            heap = null;
        }

        // The raw pass still runs when the library failed: its counters are
        // then the best hint at what the writer got wrong.
        RawScan raw = new RawScan(dump, heap);
        raw.run();
        raw.report();

        if (libError != null) {
            kv("library", "failed");
            kv("error", libError);
            printProblems();
            return 2;
        }
        kv("library", "ok");
        printProblems();
        return problems.isEmpty() ? 0 : 1;
    }

    void printProblems() {
        if (problems.isEmpty()) {
            kv("problems", "none");
        } else {
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<String, Long> e : problems.entrySet()) {
                if (sb.length() > 0) sb.append(',');
                sb.append(e.getKey()).append(':').append(e.getValue());
            }
            kv("problems", sb);
        }
    }

    // ---- library view -----------------------------------------------------------

    /** Library-derived facts shared with the raw pass. */
    long libInstances;

    void libraryChecks(Heap heap) {
        List<JavaClass> classes = heap.getAllClasses();
        kv("classes", classes.size());

        // instances = sum of JavaClass.getInstancesCount(): this is the number
        // the library assigned to a class, i.e. INSTANCE/OBJ ARRAY/PRIM ARRAY
        // records whose class it could resolve.  CLASS DUMP records are never
        // counted (java.lang.Class only counts INSTANCE DUMPs of that class).
        long total = 0;
        for (JavaClass c : classes) total += c.getInstancesCount();
        libInstances = total;
        kv("instances", total);

        Iterable<GCRoot> roots = heap.getGCRoots();
        long nroots = 0, danglingRoots = 0;
        Map<String, Long> kinds = new TreeMap<>();
        List<String> rootExamples = new ArrayList<>();
        for (GCRoot r : roots) {
            nroots++;
            kinds.merge(String.valueOf(r.getKind()), 1L, Long::sum);
            if (r.getInstance() == null) {
                danglingRoots++;
                if (rootExamples.size() < MAX_EXAMPLES) rootExamples.add(String.valueOf(r.getKind()));
            }
        }
        kv("gcroots", nroots);
        for (Map.Entry<String, Long> e : kinds.entrySet()) kv("gcroot_kind", e.getKey() + " " + e.getValue());
        kv("gcroots_dangling", danglingRoots);
        for (String s : rootExamples) kv("gcroots_dangling_example", s);
        problem("gcroots_dangling", danglingRoots);

        // Class-id references (e.g. a field pointing at a class) resolve to a
        // synthetic instance whose class is java.lang.Class; without that class
        // dump those instances are classless in VisualVM.
        boolean hasClassClass = heap.getJavaClassByName("java.lang.Class") != null;
        kv("has_java_lang_Class", hasClassClass ? 1 : 0);
        if (!hasClassClass) problem("missing_java_lang_Class", 1);

        // VisualVM's "nearest GC root"/retained size code throws unless it finds
        // either HotSpot's Reference.referent (+ the 4 Reference subclasses) or
        // SVM's DiscoverableReference.rawReferent.  Reported, not a problem,
        // unless --unreachable needs it.
        String refSupport = refSupport(heap);
        kv("gc_root_path_support", refSupport);

        if (histoN > 0) {
            List<JavaClass> sorted = new ArrayList<>(classes);
            sorted.sort(Comparator.comparingInt(JavaClass::getInstancesCount).reversed()
                    .thenComparing(JavaClass::getName));
            for (int i = 0; i < Math.min(histoN, sorted.size()); i++) {
                JavaClass c = sorted.get(i);
                kv("histo", c.getInstancesCount() + " " + c.getAllInstancesSize() + " " + c.getName());
            }
        }
        if (classNames) {
            for (JavaClass c : classes) kv("class", c.getName());
        }

        stringChecks(heap);
        if (naming) namingChecks(heap);
        if (stacks) stackChecks(heap);

        if (unreachable && "none".equals(refSupport)) {
            // NearestGCRoot would throw "reference field not found"; that is a
            // property of the dump worth failing on, not a library breakdown.
            kv("unreachable", "unsupported");
            problem("no_reference_class_for_gc_root_paths", 1);
        } else if (unreachable) {
            // Uses the library's own BFS (NearestGCRoot), which is what the
            // "GC root" view in VisualVM relies on.  Costly, hence opt-in.
            // Objects kept alive only through Reference.referent count as
            // unreachable here, as in VisualVM.
            long n = 0;
            for (Iterator<Instance> it = heap.getAllInstancesIterator(); it.hasNext();) {
                Instance i = it.next();
                if (!i.isGCRoot() && i.getNearestGCRootPointer() == null) n++;
            }
            kv("unreachable", n);
        }
    }

    static String refSupport(Heap heap) {
        JavaClass ref = heap.getJavaClassByName("java.lang.ref.Reference");
        if (ref != null && hasField(ref, "referent")) {
            int found = 0;
            for (String s : new String[] {"java.lang.ref.WeakReference", "java.lang.ref.SoftReference",
                    "java.lang.ref.FinalReference", "java.lang.ref.PhantomReference"}) {
                if (heap.getJavaClassByName(s) != null) found++;
            }
            if (found == 4) return "hotspot";
        }
        for (String s : new String[] {"com.oracle.svm.core.heap.heapImpl.DiscoverableReference",
                "com.oracle.svm.core.heap.DiscoverableReference"}) {
            JavaClass c = heap.getJavaClassByName(s);
            if (c != null && hasField(c, "rawReferent")) return "svm";
        }
        return "none";
    }

    static boolean hasField(JavaClass c, String name) {
        for (Field f : c.getFields()) if (name.equals(f.getName())) return true;
        return false;
    }

    // ---- strings ------------------------------------------------------------------

    void stringChecks(Heap heap) {
        JavaClass sc = heap.getJavaClassByName("java.lang.String");
        kv("has_java_lang_String", sc == null ? 0 : 1);
        boolean decode = stringsPrefix != null || !stringEquals.isEmpty() || dumpStringsPattern != null;
        long count = 0, utf16 = 0, nullValue = 0, prefixCount = 0;
        Set<String> prefixDistinct = new HashSet<>();
        Set<String> wanted = new HashSet<>(stringEquals);
        Set<String> found = new HashSet<>();
        if (sc != null) {
            for (Iterator<Instance> it = sc.getInstancesIterator(); it.hasNext();) {
                Instance s = it.next();
                count++;
                Object coder = s.getValueOfField("coder");
                if (coder instanceof Byte && ((Byte) coder) == 1) utf16++;
                Object value = s.getValueOfField("value");
                if (!(value instanceof PrimitiveArrayInstance)) {
                    nullValue++;
                    continue;
                }
                if (!decode) continue;
                String v = decodeString(s, (PrimitiveArrayInstance) value, coder);
                if (v == null) continue;
                if (stringsPrefix != null && v.startsWith(stringsPrefix)) {
                    prefixCount++;
                    prefixDistinct.add(v);
                }
                if (wanted.contains(v)) found.add(v);
                if (dumpStringsPattern != null && dumpStringsPattern.matcher(v).find()) {
                    if (reachableStrings) {
                        // Reachable = a GC root, or on a path from one (the
                        // library's own nearest-GC-root search).
                        boolean reachable = s.isGCRoot() || s.getNearestGCRootPointer() != null;
                        kv("string_reachable", (reachable ? 1 : 0) + " " + escape(v));
                    } else {
                        kv("string", escape(v));
                    }
                }
            }
        }
        kv("strings", count);
        kv("strings_utf16", utf16);
        kv("strings_null_value", nullValue);
        // VisualVM's StringDecoder dereferences java.lang.StringUTF16 (for the
        // byte order statics) without a null check as soon as it sees coder==1.
        if (utf16 > 0 && heap.getJavaClassByName("java.lang.StringUTF16") == null) {
            problem("utf16_strings_without_StringUTF16_class", utf16);
        }
        if (stringsPrefix != null) {
            kv("strings_prefix_count", prefixCount);
            kv("strings_prefix_distinct", prefixDistinct.size());
        }
        for (String s : stringEquals) kv("string_found", s + " " + (found.contains(s) ? 1 : 0));
    }

    /**
     * Decodes a java.lang.String from its fields ourselves (not via the
     * library's HprofProxy) so a wrong coder/array type written by hdump shows
     * up as a mismatch instead of being papered over.  Returns null if the
     * value array has an unexpected element type.
     */
    static String decodeString(Instance s, PrimitiveArrayInstance arr, Object coder) {
        String type = arr.getJavaClass() == null ? "" : arr.getJavaClass().getName();
        List<String> vals = arr.getValues();
        int off = 0, len = vals.size();
        // Pre-JDK7u6 layout (offset/count) - harmless to honour if present.
        Object o = s.getValueOfField("offset"), n = s.getValueOfField("count");
        if (o instanceof Integer && n instanceof Integer) {
            off = (Integer) o;
            len = (Integer) n;
        }
        if ("char[]".equals(type)) {
            StringBuilder sb = new StringBuilder(len);
            for (int i = off; i < off + len && i < vals.size(); i++) sb.append(vals.get(i).charAt(0));
            return sb.toString();
        }
        if ("byte[]".equals(type)) {
            int c = coder instanceof Byte ? (Byte) coder : 0;
            if (c == 1) {
                // UTF-16, platform (little-endian on x86-64/aarch64) byte order,
                // matching java.lang.StringUTF16 with HI_BYTE_SHIFT=0.
                StringBuilder sb = new StringBuilder(len / 2);
                for (int i = off; i + 1 < off + len && i + 1 < vals.size(); i += 2) {
                    int lo = Byte.parseByte(vals.get(i)) & 0xff;
                    int hi = Byte.parseByte(vals.get(i + 1)) & 0xff;
                    sb.append((char) (lo | (hi << 8)));
                }
                return sb.toString();
            }
            StringBuilder sb = new StringBuilder(len);
            for (int i = off; i < off + len && i < vals.size(); i++) {
                sb.append((char) (Byte.parseByte(vals.get(i)) & 0xff));
            }
            return sb.toString();
        }
        return null;
    }

    /** Keeps one string per output line; backslash-escapes control characters. */
    static String escape(String v) {
        StringBuilder sb = new StringBuilder(v.length());
        for (int i = 0; i < v.length(); i++) {
            char ch = v.charAt(i);
            if (ch == '\\') sb.append("\\\\");
            else if (ch == '\n') sb.append("\\n");
            else if (ch == '\r') sb.append("\\r");
            else if (ch < 0x20 || ch == 0x7f) sb.append(String.format("\\x%02x", (int) ch));
            else sb.append(ch);
        }
        return sb.toString();
    }

    // ---- field names (--naming) ------------------------------------------------------

    /**
     * hdump names a field it cannot name after its kind and offset
     * ("ref@16", "i32@24", "i16@28", "i8@30", symbols/classes.c); no Java
     * field name contains '@', so the character alone tells them apart.
     */
    static boolean synthetic(String fieldName) {
        return fieldName.indexOf('@') >= 0;
    }

    /**
     * A JDK class whose instance fields are known: the names it declares in
     * every JDK from 11 to 25, by library type name ("object", "int", ...).
     * Optional names are fields a JDK version lacks (String.hashIsZero before
     * 13, AbstractStringBuilder.maybeLatin1 and LinkedHashMap.putMode before
     * 21) or that Native Image gives no storage when nothing reads them (the
     * lazily created collection views).  A table, not reflection on the
     * running JVM: the image's JDK is not the checker's.
     */
    static final class KnownClass {
        final String name;
        final Map<String, String> required = new LinkedHashMap<>();
        final Map<String, String> optional = new LinkedHashMap<>();
        /** Reference field -> the classes a non-null value may have. */
        final Map<String, Set<String>> refClasses = new LinkedHashMap<>();

        KnownClass(String name) {
            this.name = name;
        }

        KnownClass req(String type, String... fields) {
            for (String f : fields) required.put(f, type);
            return this;
        }

        KnownClass opt(String type, String... fields) {
            for (String f : fields) optional.put(f, type);
            return this;
        }

        KnownClass refs(String field, String... classes) {
            refClasses.put(field, new HashSet<>(List.of(classes)));
            return this;
        }

        String typeOf(String field) {
            String t = required.get(field);
            return t != null ? t : optional.get(field);
        }
    }

    /**
     * Bytes of an object that are no Java field but that hdump writes so that
     * every byte is accounted for, if it names them so (a proposed
     * convention, not a Java name, so never mistaken for a field): they are
     * neither wrong nor missing names in a known class, but must have the
     * kind of their slot.
     */
    static final Map<String, String> SLOTS = Map.of("<hash>", "int", "<monitor>", "object", "<pad>", "primitive");

    static boolean slotKindOk(Field f) {
        String want = SLOTS.get(f.getName()), t = f.getType().getName();
        return "primitive".equals(want) ? !"object".equals(t) : want.equals(t);
    }

    /**
     * A field that names no Java field: synthetic, or made to look like a
     * slot without being one ("<anything>", a slot of the wrong kind).
     */
    static boolean unnamed(Field f) {
        String n = f.getName();
        if (synthetic(n)) return true;
        return n.startsWith("<") && (!SLOTS.containsKey(n) || !slotKindOk(f));
    }

    static final String HM = "java.util.HashMap", LHM = "java.util.LinkedHashMap",
            CHM = "java.util.concurrent.ConcurrentHashMap";

    /**
     * The classes the issue names, and the superclasses that declare their
     * inherited fields (AbstractMap.keySet, AbstractList.modCount,
     * AbstractStringBuilder.value...): a field hdump puts in the subclass
     * instead shows as an unexpected name there and a missing one here.
     */
    static final List<KnownClass> KNOWN = List.of(
        new KnownClass("java.lang.String").req("object", "value").req("byte", "coder").req("int", "hash")
            .opt("boolean", "hashIsZero").refs("value", "byte[]", "char[]"),
        new KnownClass("java.lang.Number"),
        new KnownClass("java.lang.Long").req("long", "value"),
        new KnownClass("java.lang.Integer").req("int", "value"),
        new KnownClass("java.util.AbstractMap").opt("object", "keySet", "values"),
        new KnownClass(HM).req("object", "table").req("int", "size", "modCount", "threshold")
            .req("float", "loadFactor").opt("object", "entrySet")
            .refs("table", HM + "$Node[]")
            .refs("entrySet", HM + "$EntrySet", LHM + "$LinkedEntrySet"),
        new KnownClass(HM + "$Node").req("int", "hash").req("object", "key", "value", "next")
            .refs("next", HM + "$Node", LHM + "$Entry", HM + "$TreeNode"),
        new KnownClass(LHM).req("object", "head", "tail").req("boolean", "accessOrder").opt("int", "putMode")
            .refs("head", LHM + "$Entry", HM + "$TreeNode").refs("tail", LHM + "$Entry", HM + "$TreeNode"),
        new KnownClass(LHM + "$Entry").req("object", "before", "after")
            .refs("before", LHM + "$Entry", HM + "$TreeNode").refs("after", LHM + "$Entry", HM + "$TreeNode"),
        new KnownClass("java.util.AbstractList").req("int", "modCount"),
        new KnownClass("java.util.ArrayList").req("object", "elementData").req("int", "size")
            .refs("elementData", "java.lang.Object[]"),
        new KnownClass(CHM).req("object", "table").req("long", "baseCount").req("int", "sizeCtl")
            .opt("object", "nextTable", "counterCells", "keySet", "values", "entrySet")
            .opt("int", "transferIndex", "cellsBusy")
            .refs("table", CHM + "$Node[]").refs("nextTable", CHM + "$Node[]")
            .refs("counterCells", CHM + "$CounterCell[]").refs("keySet", CHM + "$KeySetView")
            .refs("values", CHM + "$ValuesView").refs("entrySet", CHM + "$EntrySetView"),
        new KnownClass(CHM + "$Node").req("int", "hash").req("object", "key", "val", "next")
            .refs("next", CHM + "$Node", CHM + "$TreeNode"),
        new KnownClass("java.lang.AbstractStringBuilder").req("object", "value").req("byte", "coder")
            .req("int", "count").opt("boolean", "maybeLatin1").refs("value", "byte[]", "char[]"),
        new KnownClass("java.lang.StringBuilder"));

    long wrongValues, valuesChecked;
    final List<String> wrongValueExamples = new ArrayList<>();

    void wrongValue(Instance i, String what) {
        wrongValues++;
        if (wrongValueExamples.size() < MAX_EXAMPLES) {
            String cn = i.getJavaClass() == null ? "<no class>" : i.getJavaClass().getName();
            wrongValueExamples.add(cn + "#" + Long.toHexString(i.getInstanceId()) + " " + what);
        }
    }

    void namingChecks(Heap heap) {
        // Coverage: an instance counts when its class or a superclass has an
        // instance field (arrays and field-less objects have nothing to name),
        // and is "all real" when no class of its chain has a synthetic name.
        Map<Long, Boolean> allReal = new HashMap<>();
        // the class nearest each instance's own that keeps a synthetic name
        Map<JavaClass, Long> blame = new HashMap<>();
        long instances = 0, allRealInstances = 0, classesWithSynthetic = 0, realFields = 0, syntheticFields = 0;
        long statics = 0, staticsSynthetic = 0, classesWithStatics = 0;
        for (JavaClass c : heap.getAllClasses()) {
            int nstatic = 0;
            for (FieldValue v : c.getStaticFieldValues()) {
                // the library adds "<classLoader>" to every class's statics
                if (libraryPseudoField(v.getField().getName())) continue;
                nstatic++;
                if (synthetic(v.getField().getName())) staticsSynthetic++;
            }
            statics += nstatic;
            if (nstatic > 0) classesWithStatics++;
            if (c.isArray()) continue;
            boolean own = false;
            for (Field f : c.getFields()) {
                if (f.isStatic()) continue;
                if (unnamed(f)) {
                    own = true;
                    syntheticFields++;
                } else {
                    realFields++;
                }
            }
            if (own) classesWithSynthetic++;
            if (c.getInstancesCount() == 0 || !hasInstanceFields(c)) continue;
            instances += c.getInstancesCount();
            if (chainAllReal(c, allReal)) allRealInstances += c.getInstancesCount();
            else blame.merge(firstWithSynthetic(c), (long) c.getInstancesCount(), Long::sum);
        }
        kv("naming_instances", instances);
        kv("naming_all_real", allRealInstances);
        kv("naming_all_real_pct", String.format("%.1f", instances == 0 ? 0.0 : 100.0 * allRealInstances / instances));
        kv("naming_classes_with_synthetic", classesWithSynthetic);
        // Where the missing share is: the classes whose synthetic names cost
        // the most instances (a to-do list for whoever names them).
        List<Map.Entry<JavaClass, Long>> worst = new ArrayList<>(blame.entrySet());
        worst.sort(Map.Entry.<JavaClass, Long>comparingByValue().reversed()
                .thenComparing(e -> e.getKey().getName()));
        for (Map.Entry<JavaClass, Long> e : worst.subList(0, Math.min(NAMING_TOP, worst.size()))) {
            List<String> names = new ArrayList<>();
            for (Field f : e.getKey().getFields()) if (!f.isStatic() && unnamed(f)) names.add(f.getName());
            String more = names.size() > 8 ? ",+" + (names.size() - 8) : "";
            kv("naming_synthetic_top", e.getValue() + " " + e.getKey().getName() + " "
                    + list(names.subList(0, Math.min(8, names.size()))) + more);
        }
        kv("naming_fields_real", realFields);
        kv("naming_fields_synthetic", syntheticFields);
        kv("static_fields", statics);
        kv("static_fields_synthetic", staticsSynthetic);
        kv("classes_with_statics", classesWithStatics);

        // Names of the known classes: a real name the class does not declare,
        // or one of the wrong type, is a wrong name (a problem: the dump would
        // mislead whoever reads it); a missing or synthetic one only means
        // hdump could not name it (fields_ok=0, for the coverage tests).
        Map<String, KnownClass> byName = new HashMap<>();
        for (KnownClass k : KNOWN) byName.put(k.name, k);
        long wrongNames = 0;
        for (KnownClass k : KNOWN) {
            JavaClass c = heap.getJavaClassByName(k.name);
            if (c == null) continue;
            Set<String> present = new HashSet<>();
            List<String> unexpected = new ArrayList<>(), wrongType = new ArrayList<>(), synth = new ArrayList<>();
            for (Field f : c.getFields()) {
                if (f.isStatic()) continue;
                String n = f.getName();
                if (synthetic(n)) {
                    synth.add(n);
                    continue;
                }
                if (SLOTS.containsKey(n)) {
                    if (!slotKindOk(f)) wrongType.add(n + ":" + f.getType().getName());
                    continue;
                }
                present.add(n);
                String want = k.typeOf(n);
                if (want == null) unexpected.add(n);
                else if (!want.equals(f.getType().getName())) wrongType.add(n + ":" + f.getType().getName());
            }
            List<String> missing = new ArrayList<>();
            for (String n : k.required.keySet()) if (!present.contains(n)) missing.add(n);
            boolean ok = missing.isEmpty() && unexpected.isEmpty() && wrongType.isEmpty() && synth.isEmpty();
            wrongNames += unexpected.size() + wrongType.size();
            kv("known_class", k.name + " fields_ok=" + (ok ? 1 : 0) + " missing=" + list(missing)
                    + " unexpected=" + list(unexpected) + " wrong_type=" + list(wrongType)
                    + " synthetic=" + list(synth));
        }
        problem("naming_wrong_names", wrongNames);

        // Values: every instance of a known class (and of its subclasses among
        // them) must hold in each named field what the JDK's code can put there.
        for (KnownClass k : KNOWN) {
            JavaClass c = heap.getJavaClassByName(k.name);
            if (c == null) continue;
            List<KnownClass> chain = new ArrayList<>();
            JavaClass s = c;
            for (int depth = 0; s != null && depth < 4096; s = s.getSuperClass(), depth++) {
                KnownClass ks = byName.get(s.getName());
                if (ks != null) chain.add(ks);
            }
            for (Iterator<Instance> it = c.getInstancesIterator(); it.hasNext();) {
                Instance i = it.next();
                for (KnownClass ks : chain) checkValues(ks, i);
            }
        }
        long caches = 0;
        for (BoxCache bc : BOX_CACHES) if (checkBoxCache(heap, bc)) caches++;
        kv("static_caches_checked", caches);
        kv("naming_values_checked", valuesChecked);
        kv("wrong_values", wrongValues);
        for (String s : wrongValueExamples) kv("wrong_value_example", s);
        problem("naming_wrong_values", wrongValues);
    }

    /** Fields the library makes up ("<classLoader>", "<class>"); no dump has them. */
    static boolean libraryPseudoField(String name) {
        return name.startsWith("<");
    }

    static String list(List<String> l) {
        return l.isEmpty() ? "none" : String.join(",", l);
    }

    static boolean hasInstanceFields(JavaClass c) {
        for (int depth = 0; c != null && depth < 4096; c = c.getSuperClass(), depth++) {
            for (Field f : c.getFields()) if (!f.isStatic()) return true;
        }
        return false;
    }

    /** The first class up C's chain with a synthetic name (C when a cycle hides it). */
    static JavaClass firstWithSynthetic(JavaClass c) {
        JavaClass k = c;
        for (int depth = 0; k != null && depth < 4096; k = k.getSuperClass(), depth++) {
            for (Field f : k.getFields()) if (!f.isStatic() && unnamed(f)) return k;
        }
        return c;
    }

    static boolean chainAllReal(JavaClass c, Map<Long, Boolean> memo) {
        Boolean m = memo.get(c.getJavaClassId());
        if (m != null) return m;
        boolean ok = true;
        for (Field f : c.getFields()) if (!f.isStatic() && unnamed(f)) ok = false;
        // a superclass cycle is bad_super in the raw view; here it ends the walk
        memo.put(c.getJavaClassId(), ok);
        JavaClass s = c.getSuperClass();
        if (ok && s != null) ok = chainAllReal(s, memo);
        memo.put(c.getJavaClassId(), ok);
        return ok;
    }

    /**
     * Checks the fields K declares in instance I.  Reference fields: null or
     * one of the classes K allows.  Primitives where the JDK fixes a relation
     * a misplaced name would break: a String's cached hash is 0 or its hash, a
     * map node's hash is the spread hash of its String key, sizes fit their
     * arrays, tables have power-of-two lengths.
     */
    void checkValues(KnownClass k, Instance i) {
        for (Map.Entry<String, Set<String>> e : k.refClasses.entrySet()) {
            Object v = i.getValueOfField(e.getKey());
            if (!(v instanceof Instance)) continue;
            valuesChecked++;
            JavaClass vc = ((Instance) v).getJavaClass();
            String vn = vc == null ? "<no class>" : vc.getName();
            if (!e.getValue().contains(vn)) wrongValue(i, e.getKey() + " holds a " + vn);
        }
        switch (k.name) {
            case "java.lang.String": {
                Object value = i.getValueOfField("value"), hash = i.getValueOfField("hash");
                if (!(value instanceof PrimitiveArrayInstance) || !(hash instanceof Integer)) break;
                String s = decodeString(i, (PrimitiveArrayInstance) value, i.getValueOfField("coder"));
                if (s == null) break;
                valuesChecked++;
                int h = (Integer) hash;
                if (h != 0 && h != s.hashCode()) wrongValue(i, "hash " + h + " is not the hash of \"" + escape(s) + "\"");
                break;
            }
            case HM + "$Node":
                checkNodeHash(i, "hash", 0xffffffff);
                break;
            case CHM + "$Node":
                checkNodeHash(i, "hash", 0x7fffffff); // ConcurrentHashMap.HASH_BITS
                break;
            case "java.util.ArrayList":
                checkLength(i, "elementData", "size", 1);
                break;
            case "java.lang.AbstractStringBuilder": {
                Object coder = i.getValueOfField("coder");
                checkLength(i, "value", "count", coder instanceof Byte && (Byte) coder == 1 ? 2 : 1);
                break;
            }
            case HM:
            case CHM: {
                Object t = i.getValueOfField("table");
                if (t instanceof ObjectArrayInstance) {
                    valuesChecked++;
                    int n = ((ObjectArrayInstance) t).getLength();
                    if (Integer.bitCount(n) != 1) wrongValue(i, "table of length " + n);
                }
                Object lf = i.getValueOfField("loadFactor");
                if (lf instanceof Float) {
                    valuesChecked++;
                    float f = (Float) lf;
                    if (!(f > 0) || Float.isInfinite(f)) wrongValue(i, "loadFactor " + f);
                }
                Object size = i.getValueOfField("size");
                if (size instanceof Integer) {
                    valuesChecked++;
                    if ((Integer) size < 0) wrongValue(i, "size " + size);
                }
                break;
            }
            default:
                break;
        }
    }

    /**
     * The boxing caches: a static "cache" array the JDK fills at class
     * initialisation, element k boxing FIRST + k; a static named "cache"
     * there that holds anything else is a wrong name (and an element of the
     * wrong value, a wrong "value" name of the box).
     */
    static final class BoxCache {
        final String holder, array;
        final long first;
        final int minLength, maxLength;

        BoxCache(String holder, String array, long first, int minLength, int maxLength) {
            this.holder = holder;
            this.array = array;
            this.first = first;
            this.minLength = minLength;
            this.maxLength = maxLength;
        }
    }

    static final List<BoxCache> BOX_CACHES = List.of(
        new BoxCache("java.lang.Long$LongCache", "java.lang.Long[]", -128, 256, 256),
        // IntegerCache's upper bound is java.lang.Integer.IntegerCache.high, >= 127
        new BoxCache("java.lang.Integer$IntegerCache", "java.lang.Integer[]", -128, 256, Integer.MAX_VALUE),
        new BoxCache("java.lang.Short$ShortCache", "java.lang.Short[]", -128, 256, 256),
        new BoxCache("java.lang.Byte$ByteCache", "java.lang.Byte[]", -128, 256, 256),
        new BoxCache("java.lang.Character$CharacterCache", "java.lang.Character[]", 0, 128, 128));

    /** @return whether the dump has the cache as a named static (then checked). */
    boolean checkBoxCache(Heap heap, BoxCache bc) {
        JavaClass c = heap.getJavaClassByName(bc.holder);
        if (c == null) return false;
        FieldValue cache = null;
        for (FieldValue v : c.getStaticFieldValues()) if ("cache".equals(v.getField().getName())) cache = v;
        if (!(cache instanceof ObjectFieldValue)) return false;
        Instance a = ((ObjectFieldValue) cache).getInstance();
        if (a == null) return false; // not initialised
        valuesChecked++;
        String an = a.getJavaClass() == null ? "<no class>" : a.getJavaClass().getName();
        if (!(a instanceof ObjectArrayInstance) || !bc.array.equals(an)) {
            wrongValue(a, bc.holder + ".cache is a " + an);
            return true;
        }
        List<Instance> elems = ((ObjectArrayInstance) a).getValues();
        if (elems.size() < bc.minLength || elems.size() > bc.maxLength) {
            wrongValue(a, bc.holder + ".cache has " + elems.size() + " elements");
            return true;
        }
        for (int k = 0; k < elems.size(); k++) {
            Instance e = elems.get(k);
            if (e == null) continue;
            Object v = e.getValueOfField("value");
            Long n = v instanceof Number ? Long.valueOf(((Number) v).longValue())
                    : v instanceof Character ? Long.valueOf((Character) v) : null;
            if (n == null) continue; // value not named: counted by the name checks
            valuesChecked++;
            if (n != bc.first + k) {
                wrongValue(e, bc.holder + ".cache[" + k + "] boxes " + n + ", not " + (bc.first + k));
                return true; // one is enough to tell
            }
        }
        return true;
    }

    /** HashMap.hash(): h ^ (h >>> 16) of the key's hashCode, masked by MASK. */
    void checkNodeHash(Instance node, String field, int mask) {
        Object key = node.getValueOfField("key"), hash = node.getValueOfField(field);
        if (!(key instanceof Instance) || !(hash instanceof Integer)) return;
        Instance ki = (Instance) key;
        if (ki.getJavaClass() == null || !"java.lang.String".equals(ki.getJavaClass().getName())) return;
        Object value = ki.getValueOfField("value");
        if (!(value instanceof PrimitiveArrayInstance)) return;
        String s = decodeString(ki, (PrimitiveArrayInstance) value, ki.getValueOfField("coder"));
        if (s == null) return;
        valuesChecked++;
        int h = s.hashCode();
        int want = (h ^ (h >>> 16)) & mask;
        if ((Integer) hash != want) wrongValue(node, field + " " + hash + " is not the spread hash " + want + " of key \"" + escape(s) + "\"");
    }

    /** 0 <= COUNT and COUNT * UNIT <= the length of the array in ARRAY. */
    void checkLength(Instance i, String array, String count, int unit) {
        Object a = i.getValueOfField(array), n = i.getValueOfField(count);
        if (!(n instanceof Integer)) return;
        int len;
        if (a instanceof ObjectArrayInstance) len = ((ObjectArrayInstance) a).getLength();
        else if (a instanceof PrimitiveArrayInstance) len = ((PrimitiveArrayInstance) a).getLength();
        else return;
        valuesChecked++;
        long want = (long) (Integer) n * unit;
        if ((Integer) n < 0 || want > len) wrongValue(i, count + " " + n + " does not fit " + array + " of length " + len);
    }

    // ---- threads (--stacks) ------------------------------------------------------

    /**
     * What VisualVM shows of threads: each ROOT_THREAD_OBJ's STACK TRACE
     * (ThreadObjectGCRoot.getStackTrace) and the ROOT_JAVA_FRAME roots tied to
     * a thread and a frame of it (JavaFrameGCRoot).  A frame is "real" when
     * its LOAD CLASS resolves (the library says "N/A" otherwise) and its
     * method name is a Java method name, not a placeholder.
     */
    void stackChecks(Heap heap) {
        long threads = 0, withReal = 0, frames = 0, realFrames = 0;
        long javaFrames = 0, tied = 0, noThread = 0;
        List<String> lines = new ArrayList<>();
        Map<ThreadObjectGCRoot, Integer> depth = new HashMap<>();
        for (GCRoot r : heap.getGCRoots()) {
            if (r instanceof ThreadObjectGCRoot) {
                threads++;
                ThreadObjectGCRoot t = (ThreadObjectGCRoot) r;
                StackTraceElement[] st = t.getStackTrace();
                int n = st == null ? 0 : st.length, real = 0;
                String top = "none";
                for (int k = 0; k < n; k++) {
                    if (!realFrame(st[k])) continue;
                    if (real++ == 0) top = st[k].getClassName() + "." + st[k].getMethodName();
                }
                depth.put(t, n);
                frames += n;
                realFrames += real;
                if (real > 0) withReal++;
                lines.add(threadName(t.getInstance()) + " frames=" + n + " real_frames=" + real + " top=" + top);
            } else if (r instanceof JavaFrameGCRoot) {
                javaFrames++;
            }
        }
        for (GCRoot r : heap.getGCRoots()) {
            if (!(r instanceof JavaFrameGCRoot)) continue;
            JavaFrameGCRoot f = (JavaFrameGCRoot) r;
            ThreadObjectGCRoot t = f.getThreadGCRoot();
            if (t == null) {
                noThread++;
                continue;
            }
            // -1 is the "frame unknown" HPROF allows (a conservative scan)
            Integer n = depth.get(t);
            if (n != null && f.getFrameNumber() >= 0 && f.getFrameNumber() < n) tied++;
        }
        kv("threads", threads);
        for (String l : lines) kv("thread", l);
        kv("threads_with_real_frame", withReal);
        kv("stack_frames", frames);
        kv("stack_frames_real", realFrames);
        kv("java_frame_roots", javaFrames);
        kv("java_frame_roots_tied", tied);
        kv("java_frame_roots_without_thread", noThread);
        problem("java_frame_roots_without_thread", noThread);
    }

    static boolean realFrame(StackTraceElement e) {
        String c = e.getClassName(), m = e.getMethodName();
        if (c == null || c.isEmpty() || "N/A".equals(c) || m == null || m.isEmpty()) return false;
        if (m.equals("<init>") || m.equals("<clinit>")) return true;
        if (!Character.isJavaIdentifierStart(m.charAt(0))) return false;
        for (int k = 1; k < m.length(); k++) if (!Character.isJavaIdentifierPart(m.charAt(k))) return false;
        return true;
    }

    /** Thread.name when the dump names it, else the thread object's id. */
    static String threadName(Instance t) {
        if (t == null) return "<no object>";
        Object n = t.getValueOfField("name");
        if (n instanceof Instance) {
            Instance s = (Instance) n;
            Object value = s.getValueOfField("value");
            if (s.getJavaClass() != null && "java.lang.String".equals(s.getJavaClass().getName())
                    && value instanceof PrimitiveArrayInstance) {
                String v = decodeString(s, (PrimitiveArrayInstance) value, s.getValueOfField("coder"));
                if (v != null) return escape(v);
            }
        }
        return "<thread " + hex(t.getInstanceId()) + ">";
    }

    // ---- raw pass ------------------------------------------------------------------

    /** Open-addressing set of non-zero longs; a HashSet<Long> would cost ~50 bytes/object. */
    static final class LongSet {
        long[] keys = new long[1 << 16];
        int size;

        /** @return false if already present. */
        boolean add(long k) {
            if (size * 2 >= keys.length) grow();
            return insert(keys, k);
        }

        boolean contains(long k) {
            int mask = keys.length - 1;
            for (int i = mix(k) & mask;; i = (i + 1) & mask) {
                if (keys[i] == 0) return false;
                if (keys[i] == k) return true;
            }
        }

        private boolean insert(long[] ks, long k) {
            int mask = ks.length - 1;
            for (int i = mix(k) & mask;; i = (i + 1) & mask) {
                if (ks[i] == 0) {
                    ks[i] = k;
                    if (ks == keys) size++;
                    return true;
                }
                if (ks[i] == k) return false;
            }
        }

        private void grow() {
            long[] nk = new long[keys.length * 2];
            for (long k : keys) if (k != 0) insert(nk, k);
            keys = nk;
        }

        static int mix(long k) {
            k *= 0x9E3779B97F4A7C15L;
            return (int) (k ^ (k >>> 32));
        }
    }

    /** Big-endian buffered reader over a FileChannel that knows its absolute position. */
    static final class Reader implements AutoCloseable {
        final FileChannel ch;
        final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.BIG_ENDIAN);
        final long size;
        long bufStart; // file offset of buf[0]
        int idSize = 8;

        Reader(File f) throws IOException {
            ch = FileChannel.open(f.toPath(), StandardOpenOption.READ);
            size = ch.size();
            buf.limit(0);
        }

        long pos() {
            return bufStart + buf.position();
        }

        void ensure(int n) throws IOException {
            if (buf.remaining() >= n) return;
            long p = pos();
            buf.compact(); // unread bytes move to index 0, which is file offset p
            bufStart = p;
            while (buf.position() < n) {
                int r = ch.read(buf, bufStart + buf.position());
                if (r <= 0) {
                    buf.flip();
                    throw new EOFException("truncated at offset " + p);
                }
            }
            buf.flip();
        }

        void seek(long p) {
            if (p >= bufStart && p <= bufStart + buf.limit()) {
                buf.position((int) (p - bufStart));
            } else {
                bufStart = p;
                buf.clear();
                buf.limit(0);
            }
        }

        void skip(long n) throws IOException {
            if (pos() + n > size) throw new EOFException("truncated at offset " + pos());
            seek(pos() + n);
        }

        int u1() throws IOException { ensure(1); return buf.get() & 0xff; }
        int u2() throws IOException { ensure(2); return buf.getShort() & 0xffff; }
        long u4() throws IOException { ensure(4); return buf.getInt() & 0xffffffffL; }
        long u8() throws IOException { ensure(8); return buf.getLong(); }
        long id() throws IOException { return idSize == 4 ? u4() : u8(); }

        void read(byte[] b, int len) throws IOException {
            int done = 0;
            while (done < len) {
                ensure(Math.min(len - done, buf.capacity()));
                int n = Math.min(len - done, buf.remaining());
                buf.get(b, done, n);
                done += n;
            }
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    static int valueSize(int type, int idSize) {
        switch (type) {
            case T_OBJECT: return idSize;
            case T_BOOLEAN: case T_BYTE: return 1;
            case T_CHAR: case T_SHORT: return 2;
            case T_FLOAT: case T_INT: return 4;
            case T_DOUBLE: case T_LONG: return 8;
            default: return -1;
        }
    }

    /** What the raw parser remembers about one CLASS DUMP. */
    static final class ClassInfo {
        long superId;
        byte[] fieldTypes;
        long[] fieldNameIds;
        // flattened layout cache: byte size of the instance data, object field offsets
        int layoutSize = -1;
        int[] objOffsets;
    }

    final class RawScan {
        final File dump;
        final Heap heap; // null if the library failed: resolve against our own id set then
        int idSize;
        String format;

        final LongSet utf8Ids = new LongSet();
        final LongSet utf8Repeated = new LongSet();             // UTF8 ids written more than once
        final Map<Long, String> utf8FirstText = new HashMap<>(); // their first text, in sweep 2
        final Map<Long, Long> loadClassName = new HashMap<>(); // class id -> name string id
        final LongSet classNameIds = new LongSet();             // UTF8 ids named by LOAD CLASS
        final Map<Long, String> utf8Needed = new HashMap<>();   // name id -> text, only for LOAD CLASS names
        final Map<Long, ClassInfo> classInfos = new HashMap<>();
        final LongSet objectIds = new LongSet();

        long recordsClassDump, recordsInstance, recordsObjArray, recordsPrimArray, recordsRoots;
        long heapDumps, zeroLength, interleavedTopLevel, straddling, missingEnd, truncated, unknownSubTag;
        long duplicateIds, duplicateUtf8Ids, zeroIds, classDumpsAfterInstances, nodataArrays, badPrimType;
        long classWithoutLoadClass, unresolvedClassNames, unresolvedFieldNames, badSuper, badFieldType;
        long dangling, danglingStatic, classless, sizeMismatch;
        int primTypesUsed; // bit mask by HPROF basic type
        boolean heapAborted; // sub-record structure lost; ignore the rest of the dump
        String truncatedAt;
        final List<String> danglingExamples = new ArrayList<>();
        final List<String> danglingStaticExamples = new ArrayList<>();
        final List<String> classlessExamples = new ArrayList<>();
        final List<String> sizeMismatchExamples = new ArrayList<>();
        final List<String> duplicateExamples = new ArrayList<>();
        final Map<Long, String> classNameCache = new HashMap<>();

        RawScan(File dump, Heap heap) {
            this.dump = dump;
            this.heap = heap;
        }

        void run() throws IOException {
            try (Reader r = new Reader(dump)) {
                if (!header(r)) return;
                // Sweep 1: structure, class layouts, names, id set.  Sweep 2:
                // references.  Two sweeps because HPROF does not require class
                // dumps to precede their instances.
                walk(r, 1);
                for (long nid : loadClassName.values()) classNameIds.add(nid);
                r.seek(0);
                header(r);
                walk(r, 2);
            }
        }

        boolean header(Reader r) throws IOException {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 64; i++) {
                int b;
                try {
                    b = r.u1();
                } catch (EOFException e) {
                    break;
                }
                if (b == 0) {
                    format = sb.toString();
                    try {
                        idSize = (int) r.u4();
                        r.u8(); // timestamp
                    } catch (EOFException e) {
                        idSize = 0;
                    }
                    r.idSize = idSize;
                    return idSize == 4 || idSize == 8;
                }
                sb.append((char) b);
            }
            format = null;
            return false;
        }

        void walk(Reader r, int sweep) throws IOException {
            heapAborted = false;
            boolean inSegDump = false;   // between first HEAP DUMP SEGMENT and HEAP DUMP END
            long pendingInterleaved = 0; // top-level records seen inside a segment run
            long dumpsSeen = 0;
            boolean seenInstance = false;
            try {
                while (r.pos() < r.size) {
                    long start = r.pos();
                    int tag = r.u1();
                    r.u4(); // time
                    long len = r.u4();
                    long end = r.pos() + len;
                    if (end > r.size) {
                        if (sweep == 1) {
                            truncated++;
                            truncatedAt = "record tag " + hex(tag) + " at " + start;
                        }
                        return;
                    }
                    // The library rejects zero-length records, except HEAP DUMP END
                    // (and anything in 1.0.3 files).
                    if (sweep == 1 && len == 0 && tag != TAG_HEAP_DUMP_END
                            && !"JAVA PROFILE 1.0.3".equals(format)) {
                        zeroLength++;
                    }
                    if (inSegDump && tag != TAG_HEAP_DUMP_SEGMENT && tag != TAG_HEAP_DUMP_END) {
                        pendingInterleaved++;
                    }
                    switch (tag) {
                        case TAG_STRING:
                            if (len < idSize) break; // malformed; library would fail too
                            long sid = r.id();
                            if (sweep == 1) {
                                if (!utf8Ids.add(sid)) utf8Repeated.add(sid);
                            } else if (utf8Repeated.contains(sid)) {
                                // A viewer keeps one text per id: a second, different
                                // text renames whatever the first one named.
                                byte[] b = new byte[(int) Math.min(len - idSize, 1 << 20)];
                                r.read(b, b.length);
                                String text = new String(b, StandardCharsets.UTF_8);
                                String first = utf8FirstText.putIfAbsent(sid, text);
                                if (first != null && !first.equals(text)) duplicateUtf8Ids++;
                                if (classNameIds.contains(sid)) utf8Needed.putIfAbsent(sid, text);
                            } else if (classNameIds.contains(sid) && len - idSize < 65536) {
                                // Only class names are worth keeping (for messages
                                // when the library cannot name a class).
                                byte[] b = new byte[(int) (len - idSize)];
                                r.read(b, b.length);
                                utf8Needed.put(sid, new String(b, StandardCharsets.UTF_8));
                            }
                            break;
                        case TAG_LOAD_CLASS:
                            if (sweep == 1) {
                                r.u4(); // serial
                                long cid = r.id();
                                r.u4(); // stack trace serial
                                loadClassName.put(cid, r.id());
                            }
                            break;
                        case TAG_HEAP_DUMP:
                            inSegDump = false;
                            dumpsSeen++;
                            if (dumpsSeen == 1 && !heapAborted) seenInstance = subRecords(r, end, sweep, seenInstance);
                            break;
                        case TAG_HEAP_DUMP_SEGMENT:
                            if (!inSegDump) {
                                inSegDump = true;
                                dumpsSeen++;
                                pendingInterleaved = 0;
                            } else if (sweep == 1 && dumpsSeen == 1) {
                                // The library scans the first..last segment as one
                                // byte range, so anything in between is misparsed.
                                interleavedTopLevel += pendingInterleaved;
                            }
                            pendingInterleaved = 0;
                            if (dumpsSeen == 1 && !heapAborted) seenInstance = subRecords(r, end, sweep, seenInstance);
                            break;
                        case TAG_HEAP_DUMP_END:
                            inSegDump = false;
                            pendingInterleaved = 0;
                            break;
                        default:
                            break;
                    }
                    r.seek(end);
                }
                if (sweep == 1) {
                    heapDumps = dumpsSeen;
                    if (inSegDump) missingEnd++;
                }
            } catch (EOFException e) {
                if (sweep == 1) {
                    truncated++;
                    truncatedAt = e.getMessage();
                }
            }
        }

        /** Parses the sub-records of one HEAP DUMP (SEGMENT) body; returns updated seenInstance. */
        boolean subRecords(Reader r, long end, int sweep, boolean seenInstance) throws IOException {
            while (r.pos() < end) {
                if (checkStraddle(r, end, sweep)) return seenInstance;
                int sub = r.u1();
                switch (sub) {
                    case 0xff: case 0x05: case 0x07:
                    case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e:
                        r.id(); countRoot(sweep); break;
                    case 0x90: r.id(); break; // UNREACHABLE: parsed but not a root for the library
                    case 0x01: r.id(); r.id(); countRoot(sweep); break;
                    case 0x02: case 0x03: case 0x08: r.id(); r.u4(); r.u4(); countRoot(sweep); break;
                    case 0x04: case 0x06: r.id(); r.u4(); countRoot(sweep); break;
                    case SUB_HEAP_DUMP_INFO: r.u4(); r.id(); break;
                    case SUB_CLASS_DUMP:
                        if (sweep == 1 && seenInstance) classDumpsAfterInstances++;
                        classDump(r, sweep, end);
                        break;
                    case SUB_INSTANCE_DUMP:
                        seenInstance = true;
                        instanceDump(r, sweep);
                        break;
                    case SUB_OBJ_ARRAY:
                        seenInstance = true;
                        objArray(r, sweep);
                        break;
                    case SUB_PRIM_ARRAY:
                    case SUB_PRIM_ARRAY_NODATA: {
                        seenInstance = true;
                        long id = r.id();
                        r.u4();
                        long n = r.u4();
                        int type = r.u1();
                        if (sweep == 1) {
                            recordsPrimArray++;
                            addId(id, "prim array");
                            if (sub == SUB_PRIM_ARRAY_NODATA) nodataArrays++;
                        }
                        int es = valueSize(type, idSize);
                        if (es < 0 || type == T_OBJECT) {
                            if (sweep == 1) badPrimType++;
                            heapAborted = true; // cannot know the size; structure lost
                            return seenInstance;
                        }
                        if (sweep == 1) primTypesUsed |= 1 << type;
                        if (sub == SUB_PRIM_ARRAY) r.skip(n * es);
                        break;
                    }
                    default:
                        if (sweep == 1) unknownSubTag++;
                        heapAborted = true; // sizes unknown from here on
                        return seenInstance;
                }
            }
            checkStraddle(r, end, sweep);
            return seenInstance;
        }

        /**
         * A sub-record that ran past its segment: the library would read the
         * next segment's header as heap data.  Everything after it is
         * misaligned for us too, so stop looking at this heap dump (both
         * sweeps stop at the same point, keeping their views consistent).
         */
        boolean checkStraddle(Reader r, long end, int sweep) {
            if (r.pos() <= end) return false;
            if (sweep == 1) straddling++;
            heapAborted = true;
            return true;
        }

        void countRoot(int sweep) {
            if (sweep == 1) recordsRoots++;
        }

        void addId(long id, String kind) {
            if (id == 0) {
                zeroIds++;
                return;
            }
            if (!objectIds.add(id)) {
                duplicateIds++;
                if (duplicateExamples.size() < MAX_EXAMPLES) duplicateExamples.add(kind + " " + hex(id));
            }
        }

        void classDump(Reader r, int sweep, long end) throws IOException {
            long cid = r.id();
            r.u4();
            long superId = r.id();
            long[] refs = new long[] {r.id(), r.id(), r.id()}; // loader, signers, protection domain
            r.id();
            r.id();
            r.u4(); // instance size: only affects the library's byte counts, not checked
            List<Long> staticRefs = new ArrayList<>();
            int ncp = r.u2();
            for (int i = 0; i < ncp; i++) {
                r.u2();
                int t = r.u1();
                skipValue(r, t, sweep, staticRefs);
            }
            int nst = r.u2();
            for (int i = 0; i < nst; i++) {
                long nameId = r.id();
                // sweep 2: UTF8 records may legally follow the heap dump
                if (sweep == 2 && !utf8Ids.contains(nameId)) unresolvedFieldNames++;
                int t = r.u1();
                skipValue(r, t, sweep, staticRefs);
            }
            int nif = r.u2();
            byte[] types = new byte[nif];
            long[] names = new long[nif];
            for (int i = 0; i < nif; i++) {
                names[i] = r.id();
                types[i] = (byte) r.u1();
                if (sweep == 1 && valueSize(types[i], idSize) < 0) badFieldType++;
            }
            if (r.pos() > end) return; // straddles its segment: garbage, caller reports it
            if (sweep == 1) {
                recordsClassDump++;
                addId(cid, "class dump");
                ClassInfo ci = new ClassInfo();
                ci.superId = superId;
                ci.fieldTypes = types;
                ci.fieldNameIds = names;
                classInfos.put(cid, ci);
                // UTF8 records may legally come later; names are checked in report()
                return;
            }
            for (long ref : refs) staticRefs.add(ref);
            for (long ref : staticRefs) {
                if (ref != 0 && !resolves(ref)) {
                    danglingStatic++;
                    if (danglingStaticExamples.size() < MAX_EXAMPLES) {
                        danglingStaticExamples.add(className(cid) + " -> " + hex(ref));
                    }
                }
            }
        }

        /**
         * Skips a typed value; collects object ids in sweep 2.  An invalid type
         * makes the rest of the dump unparseable (sizes unknown), which we
         * report like a truncation.
         */
        void skipValue(Reader r, int t, int sweep, List<Long> refs) throws IOException {
            if (t == T_OBJECT) {
                long v = r.id();
                if (sweep == 2) refs.add(v);
                return;
            }
            int s = valueSize(t, idSize);
            if (s < 0) {
                if (sweep == 1) badFieldType++;
                throw new EOFException("invalid basic type " + t + " in class dump at " + r.pos());
            }
            r.skip(s);
        }

        void instanceDump(Reader r, int sweep) throws IOException {
            long id = r.id();
            r.u4();
            long cid = r.id();
            long len = r.u4();
            if (sweep == 1) {
                recordsInstance++;
                addId(id, "instance");
                r.skip(len);
                return;
            }
            ClassInfo ci = classInfos.get(cid);
            if (ci == null || !classKnownToLibrary(cid)) {
                noteClassless("instance", id, cid);
                r.skip(len);
                return;
            }
            layout(cid, ci, 0);
            if (ci.layoutSize < 0) { // broken superclass chain; counted as bad_super
                r.skip(len);
                return;
            }
            if (ci.layoutSize != len) {
                sizeMismatch++;
                if (sizeMismatchExamples.size() < MAX_EXAMPLES) {
                    sizeMismatchExamples.add(className(cid) + "#" + hex(id) + " record=" + len
                            + " fields=" + ci.layoutSize);
                }
            }
            if (len > (1 << 24)) { // absurd; do not allocate
                r.skip(len);
                return;
            }
            byte[] data = new byte[(int) len];
            r.read(data, data.length);
            ByteBuffer bb = ByteBuffer.wrap(data).order(ByteOrder.BIG_ENDIAN);
            for (int off : ci.objOffsets) {
                if (off + idSize > data.length) break; // the library would read past the record here
                long ref = idSize == 4 ? bb.getInt(off) & 0xffffffffL : bb.getLong(off);
                if (ref != 0 && !resolves(ref)) noteDangling(cid, id, ref);
            }
        }

        void objArray(Reader r, int sweep) throws IOException {
            long id = r.id();
            r.u4();
            long n = r.u4();
            long cid = r.id();
            if (sweep == 1) {
                recordsObjArray++;
                addId(id, "object array");
                r.skip(n * idSize);
                return;
            }
            if (!classInfos.containsKey(cid) || !classKnownToLibrary(cid)) {
                noteClassless("object array", id, cid);
            }
            for (long i = 0; i < n; i++) {
                long ref = r.id();
                if (ref != 0 && !resolves(ref)) noteDangling(cid, id, ref);
            }
        }

        boolean classKnownToLibrary(long cid) {
            return heap == null || heap.getJavaClassByID(cid) != null;
        }

        boolean resolves(long ref) {
            if (heap == null) return objectIds.contains(ref);
            // Cheap negative first: an id that is no record at all cannot resolve.
            if (!objectIds.contains(ref)) return false;
            return heap.getInstanceByID(ref) != null || heap.getJavaClassByID(ref) != null;
        }

        void noteDangling(long holderClass, long holder, long ref) {
            dangling++;
            if (danglingExamples.size() < MAX_EXAMPLES) {
                danglingExamples.add(className(holderClass) + "#" + Long.toHexString(holder) + " -> " + hex(ref));
            }
        }

        void noteClassless(String kind, long id, long cid) {
            classless++;
            if (classlessExamples.size() < MAX_EXAMPLES) {
                classlessExamples.add(kind + " " + hex(id) + " class " + hex(cid));
            }
        }

        String className(long cid) {
            String s = classNameCache.get(cid);
            if (s != null) return s;
            if (heap != null) {
                JavaClass jc = heap.getJavaClassByID(cid);
                if (jc != null) s = jc.getName();
            }
            if (s == null) {
                Long nid = loadClassName.get(cid);
                s = nid == null ? null : utf8Needed.get(nid);
            }
            if (s == null) s = "<class " + hex(cid) + ">";
            classNameCache.put(cid, s);
            return s;
        }

        /** Flattens own + superclass fields in the library's order (subclass first). */
        void layout(long cid, ClassInfo ci, int depth) {
            if (ci.layoutSize >= 0 || ci.layoutSize == -2) return;
            if (depth > 4096) { // superclass cycle
                ci.layoutSize = -2;
                return;
            }
            int size = 0;
            List<Integer> offs = new ArrayList<>();
            for (byte t : ci.fieldTypes) {
                if (t == T_OBJECT) offs.add(size);
                int vs = valueSize(t, idSize);
                size += vs < 0 ? 0 : vs;
            }
            if (ci.superId != 0) {
                ClassInfo sup = classInfos.get(ci.superId);
                if (sup == null) {
                    ci.layoutSize = -2;
                    return;
                }
                layout(ci.superId, sup, depth + 1);
                if (sup.layoutSize < 0) {
                    ci.layoutSize = -2;
                    return;
                }
                for (int o : sup.objOffsets) offs.add(size + o);
                size += sup.layoutSize;
            }
            ci.objOffsets = offs.stream().mapToInt(Integer::intValue).toArray();
            ci.layoutSize = size;
        }

        void report() {
            kv("format", format == null ? "<not hprof>" : format);
            kv("id_size", idSize);
            if (format == null) {
                problem("not_hprof", 1);
                return;
            }
            if (idSize != 4 && idSize != 8) {
                problem("bad_id_size", 1);
                return;
            }
            // Structural checks that need the whole sweep-1 picture.
            for (Map.Entry<Long, ClassInfo> e : classInfos.entrySet()) {
                long cid = e.getKey();
                Long nameId = loadClassName.get(cid);
                if (nameId == null) classWithoutLoadClass++;
                else if (!utf8Ids.contains(nameId)) unresolvedClassNames++;
                for (long n : e.getValue().fieldNameIds) if (!utf8Ids.contains(n)) unresolvedFieldNames++;
                long sup = e.getValue().superId;
                if (sup != 0 && !classInfos.containsKey(sup)) badSuper++;
                else {
                    layout(cid, e.getValue(), 0);
                    if (e.getValue().layoutSize == -2 && sup != 0 && classInfos.containsKey(sup)) badSuper++;
                }
            }
            Set<String> classNamesRaw = new HashSet<>();
            for (Long cid : classInfos.keySet()) {
                Long nid = loadClassName.get(cid);
                String nm = nid == null ? null : utf8Needed.get(nid);
                if (nm != null) classNamesRaw.add(nm);
            }
            StringBuilder missingPrim = new StringBuilder();
            for (Map.Entry<Integer, String[]> e : PRIM_ARRAY_NAMES.entrySet()) {
                if ((primTypesUsed & (1 << e.getKey())) == 0) continue;
                boolean ok = false;
                for (String nm : e.getValue()) ok |= classNamesRaw.contains(nm);
                if (!ok) {
                    if (missingPrim.length() > 0) missingPrim.append(',');
                    missingPrim.append(e.getValue()[0]);
                }
            }

            kv("raw_class_dumps", recordsClassDump);
            kv("raw_instance_dumps", recordsInstance);
            kv("raw_obj_array_dumps", recordsObjArray);
            kv("raw_prim_array_dumps", recordsPrimArray);
            kv("raw_instances", recordsInstance + recordsObjArray + recordsPrimArray);
            kv("raw_gcroots", recordsRoots);
            kv("heap_dumps", heapDumps);
            // informational: VisualVM's global instance iterator then yields
            // java.lang.Class pseudo-instances for these class dumps
            kv("class_dumps_after_instances", classDumpsAfterInstances);

            kv("dangling", dangling);
            for (String s : danglingExamples) kv("dangling_example", s);
            kv("classless", classless);
            for (String s : classlessExamples) kv("classless_example", s);
            kv("dangling_static", danglingStatic);
            for (String s : danglingStaticExamples) kv("dangling_static_example", s);
            kv("size_mismatch", sizeMismatch);
            for (String s : sizeMismatchExamples) kv("size_mismatch_example", s);
            kv("duplicate_ids", duplicateIds);
            kv("duplicate_utf8_ids", duplicateUtf8Ids);
            for (String s : duplicateExamples) kv("duplicate_id_example", s);
            kv("class_without_load_class", classWithoutLoadClass);
            kv("unresolved_class_names", unresolvedClassNames);
            kv("unresolved_field_names", unresolvedFieldNames);
            kv("bad_super", badSuper);
            kv("prim_array_class_missing", missingPrim.length() == 0 ? "none" : missingPrim.toString());
            if (truncatedAt != null) kv("truncated_at", truncatedAt);

            problem("dangling", dangling);
            problem("classless", classless);
            problem("dangling_static", danglingStatic);
            problem("size_mismatch", sizeMismatch);
            problem("duplicate_ids", duplicateIds);
            problem("duplicate_utf8_ids", duplicateUtf8Ids);
            problem("zero_ids", zeroIds);
            problem("class_without_load_class", classWithoutLoadClass);
            problem("unresolved_class_names", unresolvedClassNames);
            problem("unresolved_field_names", unresolvedFieldNames);
            problem("bad_super", badSuper);
            problem("bad_field_type", badFieldType);
            problem("bad_prim_array_type", badPrimType);
            problem("prim_array_nodata", nodataArrays);
            problem("prim_array_class_missing", missingPrim.length() == 0 ? 0 : 1);
            problem("zero_length_records", zeroLength);
            problem("interleaved_toplevel_in_segments", interleavedTopLevel);
            problem("straddling_subrecords", straddling);
            problem("unknown_subrecord_tag", unknownSubTag);
            problem("missing_heap_dump_end", missingEnd);
            problem("truncated", truncated);
            if (heapDumps != 1) problem("heap_dumps_not_1", heapDumps == 0 ? -1 : heapDumps);
            if (heap != null) {
                // Library count must equal the record count; if not, some records
                // are invisible in VisualVM (normally explained by classless).
                long rawInst = recordsInstance + recordsObjArray + recordsPrimArray;
                kv("instances_match_records", libInstances == rawInst ? 1 : 0);
                if (libInstances != rawInst && classless == 0) problem("instance_count_mismatch", rawInst - libInstances);
            }
        }
    }
}
