package dev.housekeeper.mart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Rows of PostgreSQL's COPY text format as RowBinary; ReportMartIT loads the same types from a real PostgreSQL. */
class CopyTextTest {

  private static ByteBuffer row(String types, String text) throws Exception {
    List<ColumnType> parsed = List.of(types.split(";")).stream().map(ColumnType::parse).toList();
    List<String> names = java.util.stream.IntStream.range(0, parsed.size()).mapToObj(i -> "c" + i).toList();
    RowBytes out = new RowBytes();
    JdbcLoad.writeRow(text.getBytes(StandardCharsets.UTF_8), parsed, names, out);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    out.drainTo(bytes);
    return ByteBuffer.wrap(bytes.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Test
  void escapesAreUndoneAndATabInsideAValueIsNotAFieldsEnd() throws Exception {
    ByteBuffer b = row("String;Nullable(String);String", "a\\tb\\\\c\\nd\\r\\b\\f\\v\t\\N\tОтчёт 'q'\n");
    byte[] first = new byte[b.get()];
    b.get(first);
    assertThat(first).isEqualTo("a\tb\\c\nd\r\b\f\u000B".getBytes(StandardCharsets.UTF_8));
    assertThat(b.get()).isEqualTo((byte) 1); // NULL
    byte[] cyrillic = "Отчёт 'q'".getBytes(StandardCharsets.UTF_8);
    assertThat(b.get()).isEqualTo((byte) cyrillic.length);
    byte[] third = new byte[cyrillic.length];
    b.get(third);
    assertThat(third).isEqualTo(cyrillic);
    assertThat(b.remaining()).isZero();
  }

  @Test
  void numbersBooleansAndTheirExtremes() throws Exception {
    ByteBuffer b = row("UInt8;UInt8;Int64;UInt64;Int32;Float64;Float32;Decimal(12, 2);Decimal(30, 4)",
        "t\tf\t-9223372036854775808\t18446744073709551615\t12.9\t-Infinity\t1.5\t-1234.565\t12345678901234567890.1234\n");
    assertThat(b.get()).isEqualTo((byte) 1);
    assertThat(b.get()).isEqualTo((byte) 0);
    assertThat(b.getLong()).isEqualTo(Long.MIN_VALUE);
    assertThat(b.getLong()).isEqualTo(-1L); // UInt64's max: all bits set
    assertThat(b.getInt()).isEqualTo(12); // a fraction is cut off
    assertThat(b.getDouble()).isEqualTo(Double.NEGATIVE_INFINITY);
    assertThat(b.getFloat()).isEqualTo(1.5f);
    assertThat(b.getLong()).isEqualTo(-123456L); // half to even at the mart's scale
    byte[] dec128 = new byte[16];
    b.get(dec128);
    assertThat(new java.math.BigInteger(reverse(dec128))).isEqualTo(new java.math.BigInteger("123456789012345678901234"));
  }

  @Test
  void plainDecimalsAreReadWithoutRoundingAndOthersRoundHalfToEven() throws Exception {
    ByteBuffer b = row("Decimal(12, 2);Decimal(12, 2);Decimal(12, 2);Decimal(12, 2);Decimal(18, 0);Decimal(9, 2)",
        "-1234.5\t7\t0.005\t0.015\t999999999999999999\t+1.25\n");
    assertThat(b.getLong()).isEqualTo(-123450L);
    assertThat(b.getLong()).isEqualTo(700L);
    assertThat(b.getLong()).isZero();
    assertThat(b.getLong()).isEqualTo(2L);
    assertThat(b.getLong()).isEqualTo(999999999999999999L);
    assertThat(b.getInt()).isEqualTo(125);
    assertThat(CopyText.unscaled("1.234".getBytes(StandardCharsets.US_ASCII), 0, 5, 2)).isEqualTo(CopyText.NOT_SIMPLE);
    assertThat(CopyText.unscaled("1e5".getBytes(StandardCharsets.US_ASCII), 0, 3, 2)).isEqualTo(CopyText.NOT_SIMPLE);
  }

  @Test
  void datesAndTimesWithAndWithoutAnOffset() throws Exception {
    ByteBuffer b = row("Date;DateTime;DateTime;DateTime;DateTime",
        "2026-06-01\t2026-06-01 12:34:56.789\t2026-06-01 12:34:56+03\t1970-01-01 05:30:00+05:30\t2026-06-01\n");
    assertThat(b.getShort()).isEqualTo((short) java.time.LocalDate.of(2026, 6, 1).toEpochDay());
    assertThat(b.getInt()).isEqualTo(1780317296);
    assertThat(b.getInt()).isEqualTo(1780306496);
    assertThat(b.getInt()).isZero();
    assertThat(b.getInt()).isEqualTo(1780272000);
  }

  @Test
  void aValueTheTypeCannotHoldNamesTheColumnTheValueAndTheType() {
    assertThatThrownBy(() -> row("Int32;Int32", "1\t\\N\n")).hasMessage(
        "column c1 is NULL, but its mart type Int32 is not Nullable");
    assertThatThrownBy(() -> row("Int32;Date", "1\tinfinity\n")).hasMessageStartingWith(
        "column c1: the source sent 'infinity', which its mart type Date cannot hold");
    assertThatThrownBy(() -> row("Int32;Decimal(9, 2)", "1\tabc\n")).hasMessageStartingWith(
        "column c1: the source sent 'abc', which its mart type Decimal(9, 2) cannot hold");
    assertThatThrownBy(() -> row("Int32;DateTime", "1\t2026-06-01 12:34\n")).hasMessageStartingWith(
        "column c1: the source sent '2026-06-01 12:34', which its mart type DateTime cannot hold");
    assertThatThrownBy(() -> row("Int32;Int32", "1\n")).hasMessage("a row has 1 fields, the mart 2 columns");
    assertThatThrownBy(() -> row("Int32;Int32", "1\t2\t3\n")).hasMessage(
        "a row has more fields than the mart's 2 columns");
  }

  @Test
  void aQuerysEndingSemicolonsAreNotPutInsideCopy() {
    assertThat(JdbcLoad.statement(" SELECT 1 ;\n ; ")).isEqualTo("SELECT 1");
    assertThat(JdbcLoad.statement("SELECT ';'")).isEqualTo("SELECT ';'");
  }

  private static byte[] reverse(byte[] le) {
    byte[] be = new byte[le.length];
    for (int i = 0; i < le.length; i++) {
      be[i] = le[le.length - 1 - i];
    }
    return be;
  }
}
