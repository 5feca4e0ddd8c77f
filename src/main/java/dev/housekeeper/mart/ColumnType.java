package dev.housekeeper.mart;

import dev.housekeeper.clickhouse.TypeExpression;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A ClickHouse column type, and how a value of a PostgreSQL COPY row is written for it in RowBinary
 * (little-endian, as every server version since long before 18.16 reads it).
 */
public final class ColumnType {

  enum Base { INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FLOAT32, FLOAT64, STRING, DATE, DATETIME,
    DECIMAL }

  private final String text;
  private final Base base;
  private final boolean nullable;
  private final int decimalBytes;
  private final int scale;

  private ColumnType(String text, Base base, boolean nullable, int decimalBytes, int scale) {
    this.text = text;
    this.base = base;
    this.nullable = nullable;
    this.decimalBytes = decimalBytes;
    this.scale = scale;
  }

  /**
   * Parses a type (with {@link TypeExpression}, the parser that checks every mart column type);
   * throws IllegalArgumentException for one this writer does not support.
   */
  public static ColumnType parse(String type) {
    TypeExpression.Type t = TypeExpression.parse(type);
    if (t.name().equals("LowCardinality") && t.args().size() == 1 && t.args().get(0) instanceof TypeExpression.Type inner) {
      t = inner; // RowBinary: as the inner type
    }
    boolean nullable = t.name().equals("Nullable") && t.args().size() == 1
        && t.args().get(0) instanceof TypeExpression.Type;
    if (nullable) {
      t = (TypeExpression.Type) t.args().get(0);
    }
    Base base = t.args().isEmpty() ? base(t.name()) : null;
    if (base != null) {
      return new ColumnType(type.strip(), base, nullable, 0, 0);
    }
    return parseDecimal(type, t, nullable);
  }

  /** The type of a fixed width or a String, Date, DateTime; null for another. */
  private static Base base(String t) {
    return switch (t) {
      case "Int8" -> Base.INT8;
      case "Int16" -> Base.INT16;
      case "Int32" -> Base.INT32;
      case "Int64" -> Base.INT64;
      case "UInt8", "Bool" -> Base.UINT8;
      case "UInt16" -> Base.UINT16;
      case "UInt32" -> Base.UINT32;
      case "UInt64" -> Base.UINT64;
      case "Float32" -> Base.FLOAT32;
      case "Float64" -> Base.FLOAT64;
      case "String" -> Base.STRING;
      case "Date" -> Base.DATE;
      case "DateTime" -> Base.DATETIME;
      default -> null;
    };
  }

  /** Decimal(P, S), Decimal(P), Decimal32/64/128(S); {@code t} is {@code type} without its wrappers. */
  private static ColumnType parseDecimal(String type, TypeExpression.Type t, boolean nullable) {
    List<Integer> numbers = t.args().stream().map(ColumnType::smallNumber).toList();
    int precision;
    int scale;
    if (java.util.Set.of("Decimal32", "Decimal64", "Decimal128").contains(t.name()) && numbers.size() == 1 && numbers.get(0) >= 0) {
      int bits = Integer.parseInt(t.name().substring("Decimal".length()));
      precision = bits == 32 ? 9 : bits == 64 ? 18 : 38;
      scale = numbers.get(0);
    } else if (t.name().equals("Decimal") && (numbers.size() == 1 || numbers.size() == 2)
        && numbers.stream().allMatch(n -> n >= 0)) {
      precision = numbers.get(0);
      scale = numbers.size() == 2 ? numbers.get(1) : 0;
    } else {
      throw new IllegalArgumentException("type " + type + " is not supported for jdbc sources; use (U)Int8-64,"
          + " Float32/64, Decimal(P,S), String, Date, DateTime, or Nullable/LowCardinality of those");
    }
    if (precision < 1 || precision > 38 || scale > precision) {
      throw new IllegalArgumentException("type " + type + ": precision 1..38, scale at most the precision");
    }
    int bytes = precision <= 9 ? 4 : precision <= 18 ? 8 : 16;
    return new ColumnType(type.strip(), Base.DECIMAL, nullable, bytes, scale);
  }

  /** A whole number argument up to 999 (a precision or scale), else -1. */
  private static int smallNumber(TypeExpression.Arg arg) {
    return arg instanceof TypeExpression.Number n && n.text().length() <= 3 && n.text().chars().allMatch(Character::isDigit) ? Integer.parseInt(n.text()) : -1;
  }

  public String text() {
    return text;
  }

  /**
   * Writes one field of a source row in PostgreSQL's COPY text format, bytes [from, to) of
   * {@code row} ({@link CopyText}), as this type's RowBinary.
   *
   * @throws IllegalArgumentException naming the column, the value and this type, when the type cannot
   *     hold the value (a NULL where the type is not Nullable, text where a number belongs)
   */
  public void write(byte[] row, int from, int to, RowBytes out, String column) {
    if (CopyText.isNull(row, from, to)) {
      if (!nullable) {
        throw new IllegalArgumentException("column " + column + " is NULL, but its mart type " + text
            + " is not Nullable");
      }
      out.write(1);
      return;
    }
    if (nullable) {
      out.write(0);
    }
    try {
      writeValue(row, from, to, out);
    } catch (RuntimeException e) {
      String value = new String(row, from, to - from, StandardCharsets.UTF_8);
      throw new IllegalArgumentException("column " + column + ": the source sent '"
          + (value.length() > 40 ? value.substring(0, 40) + "..." : value) + "', which its mart type " + text
          + " cannot hold (" + e.getMessage() + ")", e);
    }
  }

  private void writeValue(byte[] row, int from, int to, RowBytes out) {
    switch (base) {
      case INT8, UINT8 -> out.write((int) CopyText.whole(row, from, to));
      case INT16, UINT16 -> out.le(CopyText.whole(row, from, to), 2);
      case INT32, UINT32 -> out.le(CopyText.whole(row, from, to), 4);
      case INT64, UINT64 -> out.le(CopyText.whole(row, from, to), 8);
      case FLOAT32 -> out.le(Float.floatToIntBits(Float.parseFloat(CopyText.ascii(row, from, to))), 4);
      case FLOAT64 -> out.le(Double.doubleToLongBits(CopyText.floating(row, from, to)), 8);
      case STRING -> CopyText.writeString(row, from, to, out);
      case DATE -> out.le(CopyText.epochDay(row, from, to), 2);
      case DATETIME -> out.le(CopyText.epochSecond(row, from, to), 4);
      case DECIMAL -> {
        long unscaled = decimalBytes <= 8 ? CopyText.unscaled(row, from, to, scale) : CopyText.NOT_SIMPLE;
        if (unscaled != CopyText.NOT_SIMPLE) {
          out.le(unscaled, decimalBytes);
        } else {
          decimal(out, CopyText.number(row, from, to));
        }
      }
      default -> throw new IllegalStateException(base.name());
    }
  }

  private void decimal(RowBytes out, BigDecimal value) {
    BigInteger unscaled = value.setScale(scale, RoundingMode.HALF_EVEN).unscaledValue();
    if (decimalBytes <= 8) {
      out.le(unscaled.longValue(), decimalBytes);
    } else {
      byte[] be = unscaled.toByteArray();
      byte[] le = new byte[16];
      byte fill = (byte) (unscaled.signum() < 0 ? 0xFF : 0);
      java.util.Arrays.fill(le, fill);
      for (int i = 0; i < be.length && i < 16; i++) {
        le[i] = be[be.length - 1 - i];
      }
      out.write(le);
    }
  }
}
