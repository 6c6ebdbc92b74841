#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@testable import FSProbeSources
import Testing

/// User and group names from the system's database, cached.
@Suite struct AccountNamesTests {
    /// In no passwd or group database here (`getent passwd 4123456789`).
    static let unusedID: UInt32 = 4_123_456_789

    final class Clock {
        var now: UInt64 = 1_000_000_000
    }

    @Test func rootAndAnUnusedID() {
        let names = AccountNames()
        #expect(names.userName(0) == "root")
        #expect(names.groupName(0) == "root")
        #expect(names.userName(Self.unusedID) == nil)
        #expect(names.groupName(Self.unusedID) == nil)
        #expect(names.lookups == 4)
        #expect(names.hits == 0)
    }

    @Test func secondLookupsAreHitsNegativeOnesIncluded() {
        let names = AccountNames()
        _ = names.userName(0)
        _ = names.userName(Self.unusedID)
        _ = names.groupName(0)
        #expect(names.hits == 0)
        #expect(names.userName(0) == "root")
        #expect(names.hits == 1)
        #expect(names.userName(Self.unusedID) == nil)
        #expect(names.hits == 2)
        #expect(names.groupName(0) == "root")
        #expect(names.hits == 3)
        // Users and groups are cached apart: gid 0 was a hit, uid 0's
        // answer does not stand for it, nor the reverse.
        #expect(names.groupName(Self.unusedID) == nil)
        #expect(names.hits == 3)
        #expect(names.lookups == 7)
    }

    @Test func answersExpire() {
        let clock = Clock()
        let names = AccountNames(capacity: 16, timeToLiveNanoseconds: 60_000_000_000, now: { clock.now })
        #expect(names.userName(Self.unusedID) == nil)
        clock.now += 59_999_999_999
        #expect(names.userName(Self.unusedID) == nil)
        #expect(names.hits == 1)
        // A user created since would be found now: the database is asked again.
        clock.now += 1
        #expect(names.userName(Self.unusedID) == nil)
        #expect(names.hits == 1)
        #expect(names.userName(0) == "root")
        clock.now += 60_000_000_000
        #expect(names.userName(0) == "root")
        #expect(names.hits == 1)
    }

    @Test func cacheIsBounded() {
        let names = AccountNames(capacity: 2)
        _ = names.userName(0)
        _ = names.userName(Self.unusedID)
        _ = names.userName(Self.unusedID - 1)  // evicts uid 0
        _ = names.userName(0)
        #expect(names.hits == 0)
        _ = names.userName(0)
        #expect(names.hits == 1)
    }

    @Test func publicInitTakesADuration() {
        let names = AccountNames(capacity: 4, timeToLive: .milliseconds(1))
        #expect(names.userName(0) == "root")
        usleep(5_000)
        #expect(names.userName(0) == "root")
        #expect(names.hits == 0, "expired after 1 ms")
    }
}
