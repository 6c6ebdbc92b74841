/// One `fields` transform's change, applied to whatever layout an event
/// already has (the standard schema, or what earlier `fields` transforms
/// made of it).
///
/// Fields are named by their standard name whatever their current key, so
/// the change means the same wherever the transform sits. A key this change
/// writes (a rename's new key, an added field) replaces a field that an
/// earlier transform gave the same key: the later transform wins, and keys
/// stay unique.
import FSProbeCore
struct FieldChange: Sendable {
    var removed: Set<EventField>
    var renamed: [EventField: String]
    var added: [(name: String, value: String)]

    /// The layout after this change, nil when that is the standard schema.
    func applied(to incoming: EventFieldLayout?) -> EventFieldLayout? {
        let base = incoming ?? .standard
        var names = base.names
        let written = rewrite(&names)
        let keys = Set(added.map(\.name) + written.compactMap { names[$0.rawValue] })

        // Earlier fields under a key this change writes give way.
        for field in EventField.allCases where !written.contains(field) {
            if let name = names[field.rawValue], keys.contains(name) { names[field.rawValue] = nil }
        }
        for field in EventField.allCases {
            if let main = field.companionOf, names[main.rawValue] == nil { names[field.rawValue] = nil }
        }
        var extras = base.extras
        extras.removeAll { keys.contains($0.name) }
        extras += added

        let layout = EventFieldLayout(names: names, extras: extras)
        assert(Set(layout.keys).count == layout.keys.count, "duplicate keys in \(layout)")
        return layout.isStandard ? nil : layout
    }

    /// Removes and renames in `names` (indexed by `EventField.rawValue`),
    /// companions following their field; returns the fields given a new key.
    /// A field already removed stays removed.
    func rewrite(_ names: inout [String?]) -> Set<EventField> {
        for field in removed {
            names[field.rawValue] = nil
            if let companion = field.companion { names[companion.rawValue] = nil }
        }
        var written = Set<EventField>()
        for (field, key) in renamed where names[field.rawValue] != nil {
            names[field.rawValue] = key
            written.insert(field)
            if let companion = field.companion, names[companion.rawValue] != nil {
                names[companion.rawValue] = key + "_raw"
                written.insert(companion)
            }
        }
        return written
    }
}
