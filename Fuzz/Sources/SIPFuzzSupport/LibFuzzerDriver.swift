import CSwitchboardLibFuzzer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands the process to libFuzzer with `testOneInput` (the target's `LLVMFuzzerTestOneInput`).
///
/// SwiftPM renames an executable's `main` and points the linker's `main` at it, so libFuzzer's
/// own `main` is never linked; each fuzzer's `main.swift` calls this instead. The command line
/// takes the usual libFuzzer flags and corpus directories.
public func runLibFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}
