package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class EncryptionTest {

  static final byte[] KEY_A = key(1);
  static final byte[] KEY_B = key(2);

  static byte[] key(int seed) {
    byte[] k = new byte[32];
    new Random(seed).nextBytes(k);
    return k;
  }

  static byte[] encrypt(Encryption e, byte[] plain) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (OutputStream enc = e.encrypt(out)) {
      for (int i = 0; i < plain.length; i += 70_000) { // uneven writes across segment boundaries
        enc.write(plain, i, Math.min(70_000, plain.length - i));
      }
    }
    return out.toByteArray();
  }

  static byte[] decrypt(byte[] sealed, Map<String, byte[]> keys) throws IOException {
    return Encryption.decrypt(new ByteArrayInputStream(sealed), keys).readAllBytes();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, Encryption.SEGMENT - 1, Encryption.SEGMENT, Encryption.SEGMENT + 1, 3_500_000})
  void roundTripsAnySize(int size) throws IOException {
    byte[] plain = new byte[size];
    new Random(size).nextBytes(plain);
    byte[] sealed = encrypt(new Encryption("k1", KEY_A), plain);
    assertArrayEquals(plain, decrypt(sealed, Map.of("k1", KEY_A)));
  }

  @Test
  void wrongKeyTruncationAndUnknownKeyIdFailCleanly() throws IOException {
    byte[] plain = new byte[2_500_000];
    new Random(7).nextBytes(plain);
    byte[] sealed = encrypt(new Encryption("k1", KEY_A), plain);
    assertThat(assertThrows(IOException.class, () -> decrypt(sealed, Map.of("k1", KEY_B))).getMessage())
        .contains("wrong key");
    int header = 4 + 1 + "k1".length() + 7;
    byte[] cut = Arrays.copyOf(sealed, header + 4 + Encryption.SEGMENT + 16); // header and first segment only
    assertThat(assertThrows(IOException.class, () -> decrypt(cut, Map.of("k1", KEY_A))).getMessage())
        .contains("truncated");
    assertThat(assertThrows(IOException.class, () -> decrypt(sealed, Map.of("k2", KEY_A))).getMessage())
        .contains("\"k1\"").contains("not in the key Secret");
    // key rotation: an old backup is read with the old key while it is still there
    assertArrayEquals(plain, decrypt(sealed, Map.of("k2", KEY_B, "k1", KEY_A)));
  }
}
