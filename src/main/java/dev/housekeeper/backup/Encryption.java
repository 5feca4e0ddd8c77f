package dev.housekeeper.backup;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Client-side AES-256-GCM for backup objects, streamed in segments so that neither side holds an
 * object whole (the JDK's GCM decryption releases nothing before the tag, so one GCM over a whole
 * object would). Layout: header {@code "HKE1" | keyId length | keyId | 7-byte nonce prefix}, then
 * segments {@code length (4 bytes) | ciphertext+tag} of at most 1 MiB of plaintext. Each segment's
 * nonce is {@code prefix | segment index (4) | last flag (1)} and the header is its additional
 * data, so segments cannot be reordered, dropped, truncated away or moved to another object
 * undetected. The key id in the header lets old backups be read after a key rotation, while the
 * old key is still in the Secret.
 */
public final class Encryption {

  public static final String ALGORITHM = "AES-256-GCM-segmented-v1";
  static final int SEGMENT = 1 << 20;
  private static final byte[] MAGIC = "HKE1".getBytes(StandardCharsets.US_ASCII);
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final String keyId;
  private final byte[] key;

  public Encryption(String keyId, byte[] key) {
    if (key.length != 32) {
      throw new IllegalArgumentException("encryption key " + keyId + " must be 32 bytes (AES-256), not " + key.length);
    }
    if (keyId.isEmpty() || keyId.getBytes(StandardCharsets.UTF_8).length > 255) {
      throw new IllegalArgumentException("key id must be 1 to 255 bytes");
    }
    this.keyId = keyId;
    this.key = key.clone();
  }

  public String keyId() {
    return keyId;
  }

  /** Encrypts what is written to the returned stream into {@code out}; close it to finish. */
  public OutputStream encrypt(OutputStream out) throws IOException {
    byte[] prefix = new byte[7];
    RANDOM.nextBytes(prefix);
    byte[] id = keyId.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream h = new ByteArrayOutputStream();
    h.write(MAGIC);
    h.write(id.length);
    h.write(id);
    h.write(prefix);
    byte[] header = h.toByteArray();
    out.write(header);
    return new FilterOutputStream(out) {
      private final byte[] buffer = new byte[SEGMENT];
      private int filled;
      private int index;
      private boolean closed;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
          if (filled == buffer.length) {
            seal(false);
          }
          int n = Math.min(len, buffer.length - filled);
          System.arraycopy(b, off, buffer, filled, n);
          filled += n;
          off += n;
          len -= n;
        }
      }

      private void seal(boolean last) throws IOException {
        byte[] sealed = crypt(Cipher.ENCRYPT_MODE, key, prefix, index++, last, header, buffer, filled);
        out.write(ByteBuffer.allocate(4).putInt(sealed.length).array());
        out.write(sealed);
        filled = 0;
      }

      @Override
      public void close() throws IOException {
        if (!closed) {
          closed = true;
          seal(true);
          out.close();
        }
      }
    };
  }

  /**
   * Decrypts a stream written by {@link #encrypt}, with the key its header names.
   *
   * @param keys key id to 32-byte key (for example every key in the Secret)
   */
  public static InputStream decrypt(InputStream in, Map<String, byte[]> keys) throws IOException {
    DataInputStream data = new DataInputStream(in);
    byte[] magic = data.readNBytes(4);
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new IOException("not an encrypted Housekeeper object (bad header)");
    }
    int idLength = data.readUnsignedByte();
    byte[] id = data.readNBytes(idLength);
    byte[] prefix = data.readNBytes(7);
    String keyId = new String(id, StandardCharsets.UTF_8);
    byte[] key = keys.get(keyId);
    if (key == null) {
      throw new IOException("the object was encrypted with key \"" + keyId + "\", which is not in the key Secret"
          + " (keys there: " + keys.keySet() + "); keep old keys in the Secret after a rotation");
    }
    ByteArrayOutputStream h = new ByteArrayOutputStream();
    h.write(MAGIC);
    h.write(idLength);
    h.write(id);
    h.write(prefix);
    byte[] header = h.toByteArray();
    return new DecryptingStream(data, key, prefix, header);
  }

  /** The plain bytes of an encrypted object, segment by segment, each checked before any of it is given out. */
  private static final class DecryptingStream extends InputStream {
    private final DataInputStream data;
    private final byte[] key;
    private final byte[] prefix;
    private final byte[] header;
    private byte[] plain = new byte[0];
    private int pos;
    private int index;
    private boolean last;

    DecryptingStream(DataInputStream data, byte[] key, byte[] prefix, byte[] header) {
      this.data = data;
      this.key = key;
      this.prefix = prefix;
      this.header = header;
    }

    private boolean fill() throws IOException {
      while (pos == plain.length) {
        if (last) {
          return false;
        }
        int length;
        try {
          length = data.readInt();
        } catch (EOFException e) {
          throw new IOException("encrypted object is truncated (no final segment)");
        }
        if (length < 16 || length > SEGMENT + 16) {
          throw new IOException("encrypted object is corrupt (segment length " + length + ")");
        }
        byte[] sealed = data.readNBytes(length);
        if (sealed.length != length) {
          throw new IOException("encrypted object is truncated");
        }
        // the last flag is not stored: a segment opens with exactly one of the two nonces
        try {
          plain = crypt(Cipher.DECRYPT_MODE, key, prefix, index, false, header, sealed, sealed.length);
        } catch (IOException notMiddle) {
          plain = crypt(Cipher.DECRYPT_MODE, key, prefix, index, true, header, sealed, sealed.length);
          last = true;
        }
        index++;
        pos = 0;
      }
      return true;
    }

    @Override
    public int read() throws IOException {
      return fill() ? plain[pos++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, plain.length - pos);
      System.arraycopy(plain, pos, b, off, n);
      pos += n;
      return n;
    }

    @Override
    public void close() throws IOException {
      data.close();
    }
  }

  private static byte[] crypt(int mode, byte[] key, byte[] prefix, int index, boolean last, byte[] aad, byte[] input,
      int length) throws IOException {
    byte[] nonce = ByteBuffer.allocate(12).put(prefix).putInt(index).put((byte) (last ? 1 : 0)).array();
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(aad);
      return c.doFinal(input, 0, length);
    } catch (javax.crypto.AEADBadTagException e) {
      throw new IOException("decryption failed: wrong key, or the object is corrupt or was tampered with");
    } catch (GeneralSecurityException e) {
      throw new IOException("AES-GCM failed: " + e.getMessage(), e);
    }
  }
}
