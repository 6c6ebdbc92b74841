import FSProbeTestSupport
import Testing

/// Each hostile name is one parameterised case, named by its label.
extension HostileNames.Case: CustomTestStringConvertible {
    public var testDescription: String { label }
}
