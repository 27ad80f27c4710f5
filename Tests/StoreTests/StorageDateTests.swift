import Foundation
import GRDB
@testable import Store
import Testing

/// The store's own date text must be exactly what GRDB writes and reads, or rows written by the
/// fast path would sort and compare differently from rows written by records.
@Suite struct StorageDateTests {
    @Test(arguments: [
        0.0, 0.001, 0.999, 59.9994, 86_399.999, 86_400, -0.001, -86_400.5, 951_782_400.123, // 2000-02-29
        1_709_164_800.5, 4_102_444_799.999, 1_798_675_200, 253_402_300_799.999, -2_208_988_800,
    ])
    func matchesGRDB(seconds: Double) throws {
        let date = Date(timeIntervalSince1970: seconds)
        let grdb = try #require(String.fromDatabaseValue(date.databaseValue))
        #expect(StorageDate.text(date) == grdb)
    }

    @Test func matchesGRDBOnRandomDates() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            // Whole milliseconds: at sub-millisecond instants the two may round differently.
            let millis = Double(Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &generator))
            let date = Date(timeIntervalSince1970: millis / 1000)
            let grdb = try #require(String.fromDatabaseValue(date.databaseValue))
            #expect(StorageDate.text(date) == grdb, "\(millis)")
        }
    }

    @Test func readsBackAsTheSameMillisecond() throws {
        let date = Date(timeIntervalSince1970: 1_764_633_600.987)
        let back = try #require(Date.fromDatabaseValue(StorageDate.text(date).databaseValue))
        #expect(abs(back.timeIntervalSince1970 - 1_764_633_600.987) < 0.0005)
    }
}
