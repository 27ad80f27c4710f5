/// The domain of Switchboard: widgets, widget sessions, API keys, and the storage interface they
/// are kept behind.
///
/// This module owns the rules (validation, defaults, token and key handling) and is the one
/// service layer that the REST and XML-RPC faces call. It imports no HTTP, no database and no
/// protocol module: storage is reached through ``Storage``, time through ``SwitchboardClock``.
public enum ControlModule {}
