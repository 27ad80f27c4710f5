/// The signalling plane: SIP transports (thin SwiftNIO adapters), the transaction layer driven on
/// one event loop, and the back-to-back user agent that bridges a caller leg to a callee leg.
///
/// It imports `SIP` (sans-I/O messages and transactions), SwiftNIO and `Control` (trunks, the
/// call log); never HTTP or the store.
public enum B2BUAModule {}
