/// The Media module: audio codecs (G.711, G.722, Opus through libopus), resampling between 8, 16
/// and 48 kHz, and the transcoding chain with the PCM taps that the recorder, the conference
/// mixer and the announcement player use.
///
/// - `MuLaw`, `ALaw`: G.711, stateless.
/// - `G722Encoder`, `G722Decoder`: G.722 at 64 kbit/s, value types holding the ADPCM state.
/// - `OpusEncoder`, `OpusDecoder`: final classes owning libopus state (FEC, PLC, DTX).
/// - `Resampler`: streaming polyphase FIR between 8, 16 and 48 kHz.
/// - `AudioCodec`, `Transcoder`, `PCMTap`: one direction of a transcoded call.
///
/// Everything on the per-frame path works in caller-owned or preallocated buffers and allocates
/// nothing, takes no lock, dispatches through no existential, and reports bad input as a typed
/// `MediaError` rather than trapping.
///
/// Imports NIOCore and libopus (and may use RTP). Knows nothing of SIP, HTTP, the store or the
/// domain; RTP headers and telephone-event belong to the RTP module.
enum MediaModule {}
