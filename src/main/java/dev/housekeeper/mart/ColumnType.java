package dev.housekeeper.mart;

import dev.housekeeper.clickhouse.TypeExpression;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.List;

/**
 * A ClickHouse column type, and how a JDBC value is written for it in RowBinary (little-endian,
 * as every server version since long before 18.16 reads it).
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
   * Writes column {@code index} (1-based) of the current row. Each value is read from the driver once,
   * as the type it is written as; {@code wasNull} then says whether it was NULL.
   */
  public void write(ResultSet rs, int index, RowBytes out) throws SQLException {
    switch (base) {
      case INT8, UINT8 -> {
        Object value = rs.getObject(index); // a boolean source column, too
        if (present(rs, index, out)) {
          out.write((int) (value instanceof Boolean b ? (b ? 1 : 0) : rs.getLong(index)));
        }
      }
      case INT16, UINT16, INT32, UINT32, INT64 -> {
        long value = rs.getLong(index);
        if (present(rs, index, out)) {
          out.le(value, base == Base.INT64 ? 8 : base == Base.INT32 || base == Base.UINT32 ? 4 : 2);
        }
      }
      case UINT64 -> {
        BigDecimal value = rs.getBigDecimal(index);
        if (present(rs, index, out)) {
          out.le(value.toBigInteger().longValue(), 8);
        }
      }
      case FLOAT32, FLOAT64 -> writeFloat(rs, index, out);
      case STRING -> {
        String value = rs.getString(index);
        if (present(rs, index, out)) {
          byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
          out.varint(bytes.length);
          out.write(bytes);
        }
      }
      case DATE -> {
        LocalDate value = rs.getObject(index, LocalDate.class);
        if (present(rs, index, out)) {
          out.le(value.toEpochDay(), 2);
        }
      }
      case DATETIME -> {
        Object value = rs.getObject(index);
        if (present(rs, index, out)) {
          out.le(epochSeconds(value, rs, index), 4);
        }
      }
      case DECIMAL -> {
        BigDecimal value = rs.getBigDecimal(index);
        if (present(rs, index, out)) {
          decimal(out, value);
        }
      }
      default -> throw new IllegalStateException(base.name());
    }
  }

  private void writeFloat(ResultSet rs, int index, RowBytes out) throws SQLException {
    if (base == Base.FLOAT32) {
      float value = rs.getFloat(index);
      if (present(rs, index, out)) {
        out.le(Float.floatToIntBits(value), 4);
      }
    } else {
      double value = rs.getDouble(index);
      if (present(rs, index, out)) {
        out.le(Double.doubleToLongBits(value), 8);
      }
    }
  }

  /** After a value was read: writes Nullable's marker; false when the value was NULL (refused if not Nullable). */
  private boolean present(ResultSet rs, int index, RowBytes out) throws SQLException {
    if (rs.wasNull()) {
      if (!nullable) {
        throw new SQLException("column " + rs.getMetaData().getColumnLabel(index) + " is NULL, but its mart type "
            + text + " is not Nullable");
      }
      out.write(1);
      return false;
    }
    if (nullable) {
      out.write(0);
    }
    return true;
  }

  private static long epochSeconds(Object value, ResultSet rs, int index) throws SQLException {
    // PostgreSQL's driver answers getObject with a Timestamp for timestamptz as well: its type name tells them apart
    if ("timestamptz".equals(rs.getMetaData().getColumnTypeName(index))) {
      return rs.getObject(index, OffsetDateTime.class).toEpochSecond();
    }
    if (value instanceof Timestamp) {
      // timestamp without time zone: taken as UTC
      return rs.getObject(index, java.time.LocalDateTime.class).toEpochSecond(java.time.ZoneOffset.UTC);
    }
    if (value instanceof OffsetDateTime o) {
      return o.toEpochSecond();
    }
    return rs.getObject(index, OffsetDateTime.class).toEpochSecond();
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
