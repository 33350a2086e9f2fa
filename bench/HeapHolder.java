import java.util.ArrayList;
import java.util.List;

/**
 * The baseline target: holds a live heap of about OBJECTS objects and BYTES
 * bytes (as close as practical to what the pkl target holds), prints its
 * used heap after a full GC and "ready", then waits to be dumped.
 *
 * Usage: java HeapHolder OBJECTS BYTES [items|strings]
 * items (the default): five objects per item (an Item, its String and the
 * String's bytes, an Object[] and a Long); strings: many small objects,
 * short Strings (two objects each) held by one Object[], as the pkl REPL's
 * Listing of three million "payload-N-..." strings.
 */
public class HeapHolder {
    static final class Item {
        final String name;
        final long value;
        final Object[] tags;

        Item(String name, long value, Object[] tags) {
            this.name = name;
            this.value = value;
            this.tags = tags;
        }
    }

    static volatile List<Item> held;
    static volatile Object[] strings;

    public static void main(String[] args) throws Exception {
        long objects = Long.parseLong(args[0]);
        long bytes = Long.parseLong(args[1]);
        if (args.length > 2 && args[2].equals("strings"))
            holdStrings(objects, bytes);
        else
            holdItems(objects, bytes);
        System.gc();
        Runtime rt = Runtime.getRuntime();
        System.out.println("used " + (rt.totalMemory() - rt.freeMemory()));
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    static void holdStrings(long objects, long bytes) {
        // A String is 2 objects: the String (24 bytes) and its byte[]
        // (16 + length, 8-aligned), plus a 4-byte slot in the array.
        int n = (int) Math.max(1, objects / 2);
        int len = (int) Math.max(12, bytes / n - 24 - 16 - 4);
        StringBuilder filler = new StringBuilder("payload-");
        while (filler.length() < len) filler.append((char) ('a' + filler.length() % 26));
        String base = filler.substring(0, len - 10);
        Object[] v = new Object[n];
        for (int i = 0; i < n; i++)
            v[i] = base + String.format("%010d", i);
        strings = v;
    }

    static void holdItems(long objects, long bytes) {
        // One item is 5 objects: Item, String, its byte[], Object[2], a Long.
        long items = Math.max(1, objects / 5);
        // Pad the name's byte[] so that the total comes near BYTES.
        long fixed = 24 + 24 + 16 + 24 + 24;
        int pad = (int) Math.max(8, bytes / items - fixed - 16);
        StringBuilder filler = new StringBuilder();
        while (filler.length() < pad) filler.append('x');
        String base = filler.substring(0, pad - 12);
        List<Item> list = new ArrayList<>((int) items);
        for (long i = 0; i < items; i++) {
            String name = base + String.format("%012d", i);
            list.add(new Item(name, i, new Object[] {Long.valueOf(i + 1000), null}));
        }
        held = list;
    }
}
