/**
 * Real outputs of Debian ffmpeg 5.1.9 (bookworm, x86_64), captured for the parser tests.
 * Encoders are abridged to the legend, every audio encoder and a few others.
 */

/** `ffmpeg -hide_banner -version` */
export const VERSION_5_1 = [
  "ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers",
  "built with gcc 12 (Debian 12.2.0-14+deb12u1)",
  "configuration: --prefix=/usr --extra-version=0+deb12u1 --toolchain=hardened --libdir=/usr/lib/x86_64-linux-gnu --incdir=/usr/include/x86_64-linux-gnu --arch=amd64 --enable-gpl --disable-stripping --enable-gnutls --enable-ladspa --enable-libaom --enable-libass --enable-libbluray --enable-libbs2b --enable-libcaca --enable-libcdio --enable-libcodec2 --enable-libdav1d --enable-libflite --enable-libfontconfig --enable-libfreetype --enable-libfribidi --enable-libglslang --enable-libgme --enable-libgsm --enable-libjack --enable-libmp3lame --enable-libmysofa --enable-libopenjpeg --enable-libopenmpt --enable-libopus --enable-libpulse --enable-librabbitmq --enable-librist --enable-librubberband --enable-libshine --enable-libsnappy --enable-libsoxr --enable-libspeex --enable-libsrt --enable-libssh --enable-libsvtav1 --enable-libtheora --enable-libtwolame --enable-libvidstab --enable-libvorbis --enable-libvpx --enable-libwebp --enable-libx265 --enable-libxml2 --enable-libxvid --enable-libzimg --enable-libzmq --enable-libzvbi --enable-lv2 --enable-omx --enable-openal --enable-opencl --enable-opengl --enable-sdl2 --disable-sndio --enable-libjxl --enable-pocketsphinx --enable-librsvg --enable-libmfx --enable-libdc1394 --enable-libdrm --enable-libiec61883 --enable-chromaprint --enable-frei0r --enable-libx264 --enable-libplacebo --enable-librav1e --enable-shared",
  "libavutil      57. 28.100 / 57. 28.100",
  "libavcodec     59. 37.100 / 59. 37.100",
  "libavformat    59. 27.100 / 59. 27.100",
  "libavdevice    59.  7.100 / 59.  7.100",
  "libavfilter     8. 44.100 /  8. 44.100",
  "libswscale      6.  7.100 /  6.  7.100",
  "libswresample   4.  7.100 /  4.  7.100",
  "libpostproc    56.  6.100 / 56.  6.100",
].join("\n") + "\n";

/** `ffmpeg -hide_banner -encoders` (abridged) */
export const ENCODERS_5_1 = [
  "Encoders:",
  " V..... = Video",
  " A..... = Audio",
  " S..... = Subtitle",
  " .F.... = Frame-level multithreading",
  " ..S... = Slice-level multithreading",
  " ...X.. = Codec is experimental",
  " ....B. = Supports draw_horiz_band",
  " .....D = Supports direct rendering method 1",
  " ------",
  " V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)",
  " V....D libx264rgb           libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 RGB (codec h264)",
  " VFS... mjpeg                MJPEG (Motion JPEG)",
  " A..... aac                  AAC (Advanced Audio Coding)",
  " A....D ac3                  ATSC A/52A (AC-3)",
  " A....D ac3_fixed            ATSC A/52A (AC-3) (codec ac3)",
  " A....D adpcm_adx            SEGA CRI ADX ADPCM",
  " A....D adpcm_argo           ADPCM Argonaut Games",
  " A....D g722                 G.722 ADPCM (codec adpcm_g722)",
  " A....D g726                 G.726 ADPCM (codec adpcm_g726)",
  " A....D g726le               G.726 little endian ADPCM (\"right-justified\") (codec adpcm_g726le)",
  " A....D adpcm_ima_alp        ADPCM IMA High Voltage Software ALP",
  " A....D adpcm_ima_amv        ADPCM IMA AMV",
  " A....D adpcm_ima_apm        ADPCM IMA Ubisoft APM",
  " A....D adpcm_ima_qt         ADPCM IMA QuickTime",
  " A....D adpcm_ima_ssi        ADPCM IMA Simon & Schuster Interactive",
  " A....D adpcm_ima_wav        ADPCM IMA WAV",
  " A....D adpcm_ima_ws         ADPCM IMA Westwood",
  " A....D adpcm_ms             ADPCM Microsoft",
  " A....D adpcm_swf            ADPCM Shockwave Flash",
  " A....D adpcm_yamaha         ADPCM Yamaha",
  " A..... alac                 ALAC (Apple Lossless Audio Codec)",
  " A....D aptx                 aptX (Audio Processing Technology for Bluetooth)",
  " A....D aptx_hd              aptX HD (Audio Processing Technology for Bluetooth)",
  " A....D libcodec2            codec2 encoder using libcodec2 (codec codec2)",
  " A....D comfortnoise         RFC 3389 comfort noise generator",
  " A....D dfpwm                DFPWM1a audio",
  " A..X.D dca                  DCA (DTS Coherent Acoustics) (codec dts)",
  " A....D eac3                 ATSC A/52 E-AC-3",
  " A....D flac                 FLAC (Free Lossless Audio Codec)",
  " A....D g723_1               G.723.1",
  " A....D libgsm               libgsm GSM (codec gsm)",
  " A....D libgsm_ms            libgsm GSM Microsoft variant (codec gsm_ms)",
  " A..X.. mlp                  MLP (Meridian Lossless Packing)",
  " A..... mp2                  MP2 (MPEG audio layer 2)",
  " A..... mp2fixed             MP2 fixed point (MPEG audio layer 2) (codec mp2)",
  " A..... libtwolame           libtwolame MP2 (MPEG audio layer 2) (codec mp2)",
  " A....D libmp3lame           libmp3lame MP3 (MPEG audio layer 3) (codec mp3)",
  " A....D libshine             libshine MP3 (MPEG audio layer 3) (codec mp3)",
  " A....D nellymoser           Nellymoser Asao",
  " A..X.. opus                 Opus",
  " A..... libopus              libopus Opus (codec opus)",
  " A....D pcm_alaw             PCM A-law / G.711 A-law",
  " A....D pcm_bluray           PCM signed 16|20|24-bit big-endian for Blu-ray media",
  " A....D pcm_dvd              PCM signed 16|20|24-bit big-endian for DVD media",
  " A....D pcm_f32be            PCM 32-bit floating point big-endian",
  " A....D pcm_f32le            PCM 32-bit floating point little-endian",
  " A....D pcm_f64be            PCM 64-bit floating point big-endian",
  " A....D pcm_f64le            PCM 64-bit floating point little-endian",
  " A....D pcm_mulaw            PCM mu-law / G.711 mu-law",
  " A....D pcm_s16be            PCM signed 16-bit big-endian",
  " A....D pcm_s16be_planar     PCM signed 16-bit big-endian planar",
  " A....D pcm_s16le            PCM signed 16-bit little-endian",
  " A....D pcm_s16le_planar     PCM signed 16-bit little-endian planar",
  " A....D pcm_s24be            PCM signed 24-bit big-endian",
  " A....D pcm_s24daud          PCM D-Cinema audio signed 24-bit",
  " A....D pcm_s24le            PCM signed 24-bit little-endian",
  " A....D pcm_s24le_planar     PCM signed 24-bit little-endian planar",
  " A....D pcm_s32be            PCM signed 32-bit big-endian",
  " A....D pcm_s32le            PCM signed 32-bit little-endian",
  " A....D pcm_s32le_planar     PCM signed 32-bit little-endian planar",
  " A....D pcm_s64be            PCM signed 64-bit big-endian",
  " A....D pcm_s64le            PCM signed 64-bit little-endian",
  " A....D pcm_s8               PCM signed 8-bit",
  " A....D pcm_s8_planar        PCM signed 8-bit planar",
  " A....D pcm_u16be            PCM unsigned 16-bit big-endian",
  " A....D pcm_u16le            PCM unsigned 16-bit little-endian",
  " A....D pcm_u24be            PCM unsigned 24-bit big-endian",
  " A....D pcm_u24le            PCM unsigned 24-bit little-endian",
  " A....D pcm_u32be            PCM unsigned 32-bit big-endian",
  " A....D pcm_u32le            PCM unsigned 32-bit little-endian",
  " A....D pcm_u8               PCM unsigned 8-bit",
  " A....D pcm_vidc             PCM Archimedes VIDC",
  " A....D real_144             RealAudio 1.0 (14.4K) (codec ra_144)",
  " A....D roq_dpcm             id RoQ DPCM",
  " A..X.D s302m                SMPTE 302M",
  " A....D sbc                  SBC (low-complexity subband codec)",
  " A..X.. sonic                Sonic",
  " A..X.. sonicls              Sonic lossless",
  " A..... libspeex             libspeex Speex (codec speex)",
  " A..X.. truehd               TrueHD",
  " A..... tta                  TTA (True Audio)",
  " A..X.. vorbis               Vorbis",
  " A....D libvorbis            libvorbis (codec vorbis)",
  " A..... wavpack              WavPack",
  " A..... wmav1                Windows Media Audio 1",
  " A..... wmav2                Windows Media Audio 2",
  " S..... ass                  ASS (Advanced SubStation Alpha) subtitle",
].join("\n") + "\n";

/** `ffmpeg -hide_banner -devices` */
export const DEVICES_5_1 = [
  "Devices:",
  " D. = Demuxing supported",
  " .E = Muxing supported",
  " --",
  " DE alsa            ALSA audio output",
  "  E caca            caca (color ASCII art) output device",
  " DE fbdev           Linux framebuffer",
  " D  iec61883        libiec61883 (new DV1394) A/V input device",
  " D  jack            JACK Audio Connection Kit",
  " D  kmsgrab         KMS screen capture",
  " D  lavfi           Libavfilter virtual input device",
  " D  libcdio          ",
  " D  libdc1394       dc1394 v.2 A/V grab",
  " D  openal          OpenAL audio capture device",
  "  E opengl          OpenGL output",
  " DE oss             OSS (Open Sound System) playback",
  " DE pulse           Pulse audio output",
  "  E sdl,sdl2        SDL2 output device",
  " DE video4linux2,v4l2 Video4Linux2 output device",
  " D  x11grab         X11 screen capture, using XCB",
  "  E xv              XV (XVideo) output device",
].join("\n") + "\n";

/** `ffmpeg -hide_banner -sources alsa` with no sound card */
export const SOURCES_ALSA_5_1 = [
  "Auto-detected sources for alsa:",
  "  null [Discard all samples (playback) or generate zero samples (capture)] (none)",
].join("\n") + "\n";

/** `ffmpeg -hide_banner -sinks alsa` with no sound card */
export const SINKS_ALSA_5_1 = [
  "Auto-detected sinks for alsa:",
  "  null [Discard all samples (playback) or generate zero samples (capture)] (none)",
].join("\n") + "\n";

/** `ffmpeg -hide_banner -sources pulse` with no PulseAudio server */
export const SOURCES_PULSE_NO_SERVER_5_1 = [
  "Auto-detected sources for pulse:",
  "Cannot list sources: Generic error in an external library",
].join("\n") + "\n";

/** `ffmpeg -hide_banner -sources pulse` against PulseAudio 16.1 with two null sinks (default source set to hc_mic.monitor) */
export const SOURCES_PULSE_5_1 = [
  "Auto-detected sources for pulse:",
  "* hc_mic.monitor [Monitor of Null Output] (none)",
  "  hc_spk.monitor [Monitor of Null Output] (none)",
].join("\n") + "\n";

/** `ffmpeg -hide_banner -sinks pulse`, same server (default sink hc_spk) */
export const SINKS_PULSE_5_1 = [
  "Auto-detected sinks for pulse:",
  "  hc_mic [Null Output] (none)",
  "* hc_spk [Null Output] (none)",
].join("\n") + "\n";
