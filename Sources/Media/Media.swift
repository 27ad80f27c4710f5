/// The Media module: audio codecs (G.711, G.722, Opus through libopus), resampling between 8, 16
/// and 48 kHz, and the transcoding chain with the PCM taps that the recorder, the conference
/// mixer and the announcement player use.
///
/// Imports RTP, NIOCore and libopus. Knows nothing of SIP, HTTP, the store or the domain.
enum MediaModule {}
