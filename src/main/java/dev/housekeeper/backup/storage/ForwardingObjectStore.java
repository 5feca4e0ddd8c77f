package dev.housekeeper.backup.storage;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/** A store that passes every call to another: the base of wrappers that change one or two of them. */
public abstract class ForwardingObjectStore implements ObjectStore {

  protected final ObjectStore store;

  protected ForwardingObjectStore(ObjectStore store) {
    this.store = store;
  }

  @Override
  public Upload create(String key) throws IOException {
    return store.create(key);
  }

  @Override
  public InputStream open(String key) throws IOException {
    return store.open(key);
  }

  @Override
  public boolean exists(String key) throws IOException {
    return store.exists(key);
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    return store.list(prefix);
  }

  @Override
  public List<String> children(String prefix) throws IOException {
    return store.children(prefix);
  }

  @Override
  public void delete(List<String> keys) throws IOException {
    store.delete(keys);
  }

  @Override
  public String describe() {
    return store.describe();
  }

  @Override
  public void close() {
    store.close();
  }
}
