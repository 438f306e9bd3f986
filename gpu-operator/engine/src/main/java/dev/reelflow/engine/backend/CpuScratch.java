package dev.reelflow.engine.backend;

import org.bytedeco.javacpp.FloatPointer;

/** Scratch buffers of one worker thread; grown on demand, never shrunk. */
final class CpuScratch {
  FloatPointer a;
  FloatPointer b;
  float[] m = new float[0];
  float[] l = new float[0];

  FloatPointer a(long n) {
    if (a == null || a.capacity() < n) {
      if (a != null) {
        a.deallocate();
      }
      a = new FloatPointer(n);
    }
    return a;
  }

  FloatPointer b(long n) {
    if (b == null || b.capacity() < n) {
      if (b != null) {
        b.deallocate();
      }
      b = new FloatPointer(n);
    }
    return b;
  }

  float[] row = new float[0];

  float[] row(int n) {
    if (row.length < n) {
      row = new float[n];
    }
    return row;
  }

  float[] m(int n) {
    if (m.length < n) {
      m = new float[n];
      l = new float[n];
    }
    return m;
  }
}
