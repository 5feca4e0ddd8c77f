package dev.housekeeper.mart;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * Rows encoded as RowBinary into one growing array, handed on in large chunks. Not a
 * ByteArrayOutputStream: its every write takes a lock, and a load writes each byte of a million rows.
 */
final class RowBytes {

  /** Bytes gathered before they are handed on. */
  static final int CHUNK = 64 * 1024;

  private byte[] bytes = new byte[CHUNK + 1024];
  private int size;

  void write(int b) {
    ensure(1);
    bytes[size++] = (byte) b;
  }

  void write(byte[] b) {
    write(b, 0, b.length);
  }

  void write(byte[] b, int from, int length) {
    ensure(length);
    System.arraycopy(b, from, bytes, size, length);
    size += length;
  }

  /** The low {@code count} bytes of {@code v}, least significant first. */
  void le(long v, int count) {
    ensure(count);
    for (int i = 0; i < count; i++) {
      bytes[size++] = (byte) (v >>> (8 * i));
    }
  }

  /** An unsigned LEB128 number (RowBinary's string length). */
  void varint(long v) {
    ensure(10);
    long value = v;
    while ((value & ~0x7FL) != 0) {
      bytes[size++] = (byte) ((value & 0x7F) | 0x80);
      value >>>= 7;
    }
    bytes[size++] = (byte) value;
  }

  boolean full() {
    return size >= CHUNK;
  }

  /** Hands what was gathered to {@code out} and starts again. */
  void drainTo(OutputStream out) throws IOException {
    out.write(bytes, 0, size);
    size = 0;
  }

  private void ensure(int more) {
    if (size + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
    }
  }
}
