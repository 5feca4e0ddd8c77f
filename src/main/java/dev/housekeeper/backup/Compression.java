package dev.housekeeper.backup;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;

/** Compression of backup objects, applied on the fly: zstd (default, level 1), lz4 (frame format) or none. */
public enum Compression {
  zstd(".zst"),
  lz4(".lz4"),
  none("");

  private final String suffix;

  Compression(String suffix) {
    this.suffix = suffix;
  }

  public String suffix() {
    return suffix;
  }

  public OutputStream wrap(OutputStream out) throws IOException {
    return switch (this) {
      case zstd -> new ZstdOutputStream(out, 1);
      case lz4 -> new LZ4FrameOutputStream(out);
      case none -> out;
    };
  }

  public InputStream wrap(InputStream in) throws IOException {
    return switch (this) {
      case zstd -> new ZstdInputStream(in);
      case lz4 -> new LZ4FrameInputStream(in);
      case none -> in;
    };
  }
}
