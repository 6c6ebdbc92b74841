extension ComponentType {
    /// The transform types FSProbeCore provides.
    public static let coreTransforms: [ComponentType] = [.filterTransform, .sampleTransform, .fieldsTransform]
}
