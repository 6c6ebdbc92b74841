import CFSProbeBPF
import FSProbeCore
import FSProbeSources
import Testing

/// Swift's `EventType` mirrors `enum fsp_event_type` of `ebpf/fsprobe.h` by
/// raw value: the decoder turns a record's type into an `EventType`, and an
/// `EventTypeSet` is the kernel's event mask bit for bit. Any mismatch (a
/// type added on one side, values reordered) fails here.
struct KernelABIMirrorTests {
    static let kernelTypes: [(EventType, fsp_event_type)] = [
        (.open, FSP_EVENT_OPEN), (.mkdir, FSP_EVENT_MKDIR), (.link, FSP_EVENT_LINK), (.rename, FSP_EVENT_RENAME),
        (.setattr, FSP_EVENT_SETATTR), (.unlink, FSP_EVENT_UNLINK), (.rmdir, FSP_EVENT_RMDIR),
        (.modify, FSP_EVENT_MODIFY),
    ]

    @Test func everyEventTypeHasTheKernelsValue() {
        #expect(EventType.allCases.count == Int(FSP_EVENT_TYPE_COUNT.rawValue), "types on one side only")
        #expect(Set(Self.kernelTypes.map(\.0)) == Set(EventType.allCases))
        for (type, kernel) in Self.kernelTypes {
            #expect(type.rawValue == kernel.rawValue, "\(type.name): Swift \(type.rawValue), kernel \(kernel.rawValue)")
        }
        #expect(EventTypeSet.all.rawValue == (1 << FSP_EVENT_TYPE_COUNT.rawValue) - 1, "the mask of every type")
    }
}
