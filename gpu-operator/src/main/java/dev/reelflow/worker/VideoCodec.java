package dev.reelflow.worker;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_FLAG_GLOBAL_HEADER;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_rescale_ts;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_unref;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_decoder;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_encoder_by_name;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_free_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_from_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_to_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_frame;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_packet;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_frame;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_packet;
import static org.bytedeco.ffmpeg.global.avformat.AVFMT_GLOBALHEADER;
import static org.bytedeco.ffmpeg.global.avformat.AVIO_FLAG_WRITE;
import static org.bytedeco.ffmpeg.global.avformat.av_find_best_stream;
import static org.bytedeco.ffmpeg.global.avformat.av_interleaved_write_frame;
import static org.bytedeco.ffmpeg.global.avformat.av_read_frame;
import static org.bytedeco.ffmpeg.global.avformat.av_write_trailer;
import static org.bytedeco.ffmpeg.global.avformat.avformat_alloc_output_context2;
import static org.bytedeco.ffmpeg.global.avformat.avformat_close_input;
import static org.bytedeco.ffmpeg.global.avformat.avformat_find_stream_info;
import static org.bytedeco.ffmpeg.global.avformat.avformat_free_context;
import static org.bytedeco.ffmpeg.global.avformat.avformat_new_stream;
import static org.bytedeco.ffmpeg.global.avformat.avformat_open_input;
import static org.bytedeco.ffmpeg.global.avformat.avformat_write_header;
import static org.bytedeco.ffmpeg.global.avformat.avio_closep;
import static org.bytedeco.ffmpeg.global.avformat.avio_open;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EAGAIN;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_VIDEO;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_ERROR;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV420P;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUVJ420P;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_free;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_set;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_free;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_get_buffer;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_make_writable;
import static org.bytedeco.ffmpeg.global.avutil.av_log_set_level;
import static org.bytedeco.ffmpeg.global.avutil.av_make_q;
import static org.bytedeco.ffmpeg.global.avutil.av_strerror;
import static org.bytedeco.ffmpeg.global.swscale.SWS_BICUBIC;
import static org.bytedeco.ffmpeg.global.swscale.sws_freeContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_getContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_scale;

import dev.reelflow.worker.spi.VideoFrames;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * H.264 MP4 encoding (yuv420p, faststart), poster JPEGs and decoding, on the bytedeco FFmpeg preset
 * (an LGPL build: h264_nvenc and libopenh264, no libx264).
 */
final class VideoCodec {
  private static final Logger LOG = LoggerFactory.getLogger(VideoCodec.class);

  /** Encoder preference: {@code auto} picks h264_nvenc where a GPU is present. */
  enum Encoder {
    AUTO,
    H264_NVENC,
    LIBOPENH264;

    static Encoder parse(String s) {
      return switch (s.trim().toLowerCase()) {
        case "auto" -> AUTO;
        case "h264_nvenc", "nvenc" -> H264_NVENC;
        case "libopenh264", "openh264", "software" -> LIBOPENH264;
        default ->
            throw new IllegalArgumentException(
                "video.encoder must be auto, h264_nvenc or libopenh264, got '" + s + "'");
      };
    }
  }

  /** A decoded clip with the frame rate of its container. */
  record Decoded(VideoFrames frames, int fps) {}

  static {
    av_log_set_level(AV_LOG_ERROR);
  }

  private VideoCodec() {}

  /**
   * What {@link #encodeMp4} will try under {@code preference} on this machine, for the start log.
   */
  static String describe(Encoder preference) {
    return switch (preference) {
      case H264_NVENC -> "h264_nvenc (configured; no fallback)";
      case LIBOPENH264 -> "libopenh264 (configured)";
      case AUTO ->
          gpuPresent()
              ? "h264_nvenc (NVIDIA device present), libopenh264 if NVENC fails"
              : "libopenh264 (no NVIDIA device, so no NVENC)";
    };
  }

  /** True when an NVIDIA device node exists, i.e. NVENC may work. */
  static boolean gpuPresent() {
    return Files.exists(Path.of("/dev/nvidia0"));
  }

  /**
   * Encodes {@code frames} to an MP4 at {@code outWidth}x{@code outHeight} (frames are resized with
   * bicubic filtering when the sizes differ). Returns the name of the encoder that was used.
   */
  static String encodeMp4(
      VideoFrames frames, int fps, int outWidth, int outHeight, Path out, Encoder preference)
      throws IOException {
    if (frames.count() == 0) {
      throw new IOException("no frames to encode");
    }
    if (outWidth % 2 != 0 || outHeight % 2 != 0) {
      throw new IOException("yuv420p needs even sizes, got " + outWidth + "x" + outHeight);
    }
    List<String> candidates = new ArrayList<>();
    if (preference == Encoder.H264_NVENC || (preference == Encoder.AUTO && gpuPresent())) {
      candidates.add("h264_nvenc");
    }
    if (preference != Encoder.H264_NVENC) {
      candidates.add("libopenh264");
    }
    IOException last = null;
    for (String name : candidates) {
      try {
        encodeWith(name, frames, fps, outWidth, outHeight, out);
        if (last != null) {
          LOG.warn("encoded with {} after h264_nvenc failed: {}", name, last.getMessage());
        }
        return name;
      } catch (IOException e) {
        last = e;
      }
    }
    throw last;
  }

  private static void encodeWith(
      String encoderName, VideoFrames frames, int fps, int outW, int outH, Path out)
      throws IOException {
    AVCodec codec = avcodec_find_encoder_by_name(encoderName);
    if (codec == null || codec.isNull()) {
      throw new IOException("FFmpeg encoder " + encoderName + " is not in this build");
    }
    AVFormatContext oc = new AVFormatContext(null);
    check(avformat_alloc_output_context2(oc, null, "mp4", out.toString()), "allocate mp4 muxer");
    AVCodecContext c = null;
    AVFrame rgb = null;
    AVFrame yuv = null;
    AVPacket pkt = null;
    SwsContext sws = null;
    boolean opened = false;
    try {
      AVStream st = avformat_new_stream(oc, null);
      c = avcodec_alloc_context3(codec);
      c.width(outW);
      c.height(outH);
      c.pix_fmt(AV_PIX_FMT_YUV420P);
      AVRational tb = av_make_q(1, fps);
      c.time_base(tb);
      c.framerate(av_make_q(fps, 1));
      c.gop_size(Math.max(1, fps));
      c.max_b_frames(0);
      // ~0.15 bits per pixel: visually fine for generated clips, small enough for previews.
      c.bit_rate(Math.max(200_000L, (long) (outW * (long) outH * fps * 0.15)));
      if ((oc.oformat().flags() & AVFMT_GLOBALHEADER) != 0) {
        c.flags(c.flags() | AV_CODEC_FLAG_GLOBAL_HEADER);
      }
      check(avcodec_open2(c, codec, (AVDictionary) null), "open encoder " + encoderName);
      check(avcodec_parameters_from_context(st.codecpar(), c), "copy codec parameters");
      st.time_base(tb);
      st.avg_frame_rate(av_make_q(fps, 1));
      AVIOContext pb = new AVIOContext(null);
      check(avio_open(pb, out.toString(), AVIO_FLAG_WRITE), "open " + out);
      oc.pb(pb);
      opened = true;
      AVDictionary opts = new AVDictionary(null);
      av_dict_set(opts, "movflags", "+faststart", 0);
      int hdr = avformat_write_header(oc, opts);
      av_dict_free(opts);
      check(hdr, "write mp4 header");

      int inW = frames.width();
      int inH = frames.height();
      rgb = allocFrame(AV_PIX_FMT_RGB24, inW, inH);
      yuv = allocFrame(AV_PIX_FMT_YUV420P, outW, outH);
      sws =
          sws_getContext(
              inW,
              inH,
              AV_PIX_FMT_RGB24,
              outW,
              outH,
              AV_PIX_FMT_YUV420P,
              SWS_BICUBIC,
              null,
              null,
              (DoublePointer) null);
      if (sws == null || sws.isNull()) {
        throw new IOException("cannot create the RGB to yuv420p converter");
      }
      pkt = av_packet_alloc();
      for (int i = 0; i < frames.count(); i++) {
        copyRgbIn(frames.rgb(i), rgb, inW, inH);
        check(av_frame_make_writable(yuv), "make frame writable");
        sws_scale(sws, rgb.data(), rgb.linesize(), 0, inH, yuv.data(), yuv.linesize());
        yuv.pts(i);
        check(avcodec_send_frame(c, yuv), "encode frame " + i);
        drainPackets(c, oc, st, pkt);
      }
      check(avcodec_send_frame(c, null), "flush encoder");
      drainPackets(c, oc, st, pkt);
      check(av_write_trailer(oc), "write mp4 trailer");
    } finally {
      if (pkt != null) {
        av_packet_free(pkt);
      }
      if (rgb != null) {
        av_frame_free(rgb);
      }
      if (yuv != null) {
        av_frame_free(yuv);
      }
      if (sws != null) {
        sws_freeContext(sws);
      }
      if (c != null) {
        avcodec_free_context(c);
      }
      if (opened) {
        avio_closep(oc.pb());
      }
      avformat_free_context(oc);
    }
  }

  private static void drainPackets(AVCodecContext c, AVFormatContext oc, AVStream st, AVPacket pkt)
      throws IOException {
    while (true) {
      int r = avcodec_receive_packet(c, pkt);
      if (r == AVERROR_EAGAIN() || r == AVERROR_EOF) {
        return;
      }
      check(r, "receive packet");
      av_packet_rescale_ts(pkt, c.time_base(), st.time_base());
      pkt.stream_index(st.index());
      int w = av_interleaved_write_frame(oc, pkt);
      av_packet_unref(pkt);
      check(w, "write packet");
    }
  }

  /** Writes one RGB frame as a baseline JPEG (poster). */
  static void writeJpeg(byte[] rgbFrame, int width, int height, Path out) throws IOException {
    AVCodec codec = avcodec_find_encoder_by_name("mjpeg");
    if (codec == null || codec.isNull()) {
      throw new IOException("FFmpeg encoder mjpeg is not in this build");
    }
    AVCodecContext c = avcodec_alloc_context3(codec);
    AVFrame rgb = null;
    AVFrame yuv = null;
    AVPacket pkt = av_packet_alloc();
    SwsContext sws = null;
    try {
      c.width(width);
      c.height(height);
      c.pix_fmt(AV_PIX_FMT_YUVJ420P);
      c.time_base(av_make_q(1, 25));
      c.qmin(2);
      c.qmax(4);
      check(avcodec_open2(c, codec, (AVDictionary) null), "open mjpeg encoder");
      rgb = allocFrame(AV_PIX_FMT_RGB24, width, height);
      yuv = allocFrame(AV_PIX_FMT_YUVJ420P, width, height);
      sws =
          sws_getContext(
              width,
              height,
              AV_PIX_FMT_RGB24,
              width,
              height,
              AV_PIX_FMT_YUVJ420P,
              SWS_BICUBIC,
              null,
              null,
              (DoublePointer) null);
      copyRgbIn(rgbFrame, rgb, width, height);
      sws_scale(sws, rgb.data(), rgb.linesize(), 0, height, yuv.data(), yuv.linesize());
      yuv.pts(0);
      yuv.quality(2 * 118); // FF_QP2LAMBDA * q: good quality
      check(avcodec_send_frame(c, yuv), "encode poster");
      check(avcodec_send_frame(c, null), "flush poster");
      try (OutputStream os = Files.newOutputStream(out)) {
        while (true) {
          int r = avcodec_receive_packet(c, pkt);
          if (r == AVERROR_EAGAIN() || r == AVERROR_EOF) {
            break;
          }
          check(r, "receive poster packet");
          byte[] bytes = new byte[pkt.size()];
          pkt.data().get(bytes);
          os.write(bytes);
          av_packet_unref(pkt);
        }
      }
    } finally {
      av_packet_free(pkt);
      if (rgb != null) {
        av_frame_free(rgb);
      }
      if (yuv != null) {
        av_frame_free(yuv);
      }
      if (sws != null) {
        sws_freeContext(sws);
      }
      avcodec_free_context(c);
    }
  }

  /** Decodes every frame of the first video stream of {@code file} to RGB24. */
  static Decoded decode(Path file) throws IOException {
    List<byte[]> out = new ArrayList<>();
    StreamInfo s = decodeInto(file, out::add);
    return new Decoded(VideoFrames.of(s.width(), s.height(), out), s.fps());
  }

  /**
   * Decodes like {@link #decode} but spools the RGB24 frames to {@code spool} and reads each back
   * when asked, so a long 1080p clip (6 MB a frame) need not fit the heap.
   */
  static Decoded decodeToFile(Path file, Path spool) throws IOException {
    int[] count = {0};
    StreamInfo s;
    try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(spool), 1 << 20)) {
      s =
          decodeInto(
              file,
              rgb -> {
                os.write(rgb);
                count[0]++;
              });
    }
    if (count[0] == 0) {
      throw new IOException("no video frames in " + file);
    }
    return new Decoded(new FileFrames(spool, s.width(), s.height(), count[0]), s.fps());
  }

  /** Receives decoded RGB24 frames in order. */
  @FunctionalInterface
  private interface FrameSink {
    void accept(byte[] rgb) throws IOException;
  }

  /** Size and frame rate of a decoded video stream. */
  private record StreamInfo(int width, int height, int fps) {}

  /** RGB24 frames stored one after another in a file, read on demand. */
  private record FileFrames(Path file, int width, int height, int count) implements VideoFrames {
    @Override
    public byte[] rgb(int index) {
      if (index < 0 || index >= count) {
        throw new IndexOutOfBoundsException("frame " + index + " of " + count);
      }
      int size = width * height * 3;
      ByteBuffer buf = ByteBuffer.allocate(size);
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        long at = (long) index * size;
        while (buf.hasRemaining()) {
          if (ch.read(buf, at + buf.position()) < 0) {
            throw new IOException("spooled frames end before frame " + index);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read spooled frame " + index + " of " + file, e);
      }
      return buf.array();
    }
  }

  private static StreamInfo decodeInto(Path file, FrameSink out) throws IOException {
    AVFormatContext ic = new AVFormatContext(null);
    check(avformat_open_input(ic, file.toString(), null, null), "open " + file);
    AVCodecContext dc = null;
    AVPacket pkt = null;
    AVFrame frame = null;
    AVFrame rgb = null;
    SwsContext sws = null;
    try {
      check(avformat_find_stream_info(ic, (AVDictionary) null), "read stream info of " + file);
      int vs = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, (AVCodec) null, 0);
      check(vs, "find a video stream in " + file);
      AVStream st = ic.streams(vs);
      AVCodec dec = avcodec_find_decoder(st.codecpar().codec_id());
      if (dec == null || dec.isNull()) {
        throw new IOException("no decoder for the video stream of " + file);
      }
      dc = avcodec_alloc_context3(dec);
      check(avcodec_parameters_to_context(dc, st.codecpar()), "copy decoder parameters");
      check(avcodec_open2(dc, dec, (AVDictionary) null), "open decoder");
      int w = dc.width();
      int h = dc.height();
      AVRational fr = st.avg_frame_rate();
      int fps = fr.den() > 0 && fr.num() > 0 ? (int) Math.round(fr.num() / (double) fr.den()) : 24;
      pkt = av_packet_alloc();
      frame = av_frame_alloc();
      rgb = allocFrame(AV_PIX_FMT_RGB24, w, h);
      while (av_read_frame(ic, pkt) >= 0) {
        try {
          if (pkt.stream_index() == vs) {
            check(avcodec_send_packet(dc, pkt), "decode packet");
            sws = receiveFrames(dc, frame, rgb, sws, w, h, out);
          }
        } finally {
          av_packet_unref(pkt);
        }
      }
      avcodec_send_packet(dc, null);
      sws = receiveFrames(dc, frame, rgb, sws, w, h, out);
      return new StreamInfo(w, h, fps);
    } finally {
      if (sws != null) {
        sws_freeContext(sws);
      }
      if (pkt != null) {
        av_packet_free(pkt);
      }
      if (frame != null) {
        av_frame_free(frame);
      }
      if (rgb != null) {
        av_frame_free(rgb);
      }
      if (dc != null) {
        avcodec_free_context(dc);
      }
      avformat_close_input(ic);
    }
  }

  private static SwsContext receiveFrames(
      AVCodecContext dc, AVFrame frame, AVFrame rgb, SwsContext sws, int w, int h, FrameSink out)
      throws IOException {
    while (true) {
      int r = avcodec_receive_frame(dc, frame);
      if (r == AVERROR_EAGAIN() || r == AVERROR_EOF) {
        return sws;
      }
      check(r, "receive decoded frame");
      if (sws == null) {
        sws =
            sws_getContext(
                w,
                h,
                frame.format(),
                w,
                h,
                AV_PIX_FMT_RGB24,
                SWS_BICUBIC,
                null,
                null,
                (DoublePointer) null);
      }
      sws_scale(sws, frame.data(), frame.linesize(), 0, h, rgb.data(), rgb.linesize());
      out.accept(copyRgbOut(rgb, w, h));
    }
  }

  private static AVFrame allocFrame(int pixFmt, int w, int h) throws IOException {
    AVFrame f = av_frame_alloc();
    f.format(pixFmt);
    f.width(w);
    f.height(h);
    check(av_frame_get_buffer(f, 0), "allocate frame");
    return f;
  }

  private static void copyRgbIn(byte[] src, AVFrame dst, int w, int h) throws IOException {
    if (src.length != w * h * 3) {
      throw new IOException("RGB frame has " + src.length + " bytes, expected " + w * h * 3);
    }
    check(av_frame_make_writable(dst), "make RGB frame writable");
    BytePointer data = dst.data(0);
    int stride = dst.linesize(0);
    for (int y = 0; y < h; y++) {
      data.position((long) y * stride).put(src, y * w * 3, w * 3);
    }
    data.position(0);
  }

  private static byte[] copyRgbOut(AVFrame src, int w, int h) {
    byte[] out = new byte[w * h * 3];
    BytePointer data = src.data(0);
    int stride = src.linesize(0);
    for (int y = 0; y < h; y++) {
      data.position((long) y * stride).get(out, y * w * 3, w * 3);
    }
    data.position(0);
    return out;
  }

  private static void check(int ret, String what) throws IOException {
    if (ret < 0) {
      byte[] buf = new byte[256];
      av_strerror(ret, buf, buf.length);
      int n = 0;
      while (n < buf.length && buf[n] != 0) {
        n++;
      }
      throw new IOException(
          "FFmpeg failed to " + what + ": " + new String(buf, 0, n) + " (" + ret + ")");
    }
  }
}
