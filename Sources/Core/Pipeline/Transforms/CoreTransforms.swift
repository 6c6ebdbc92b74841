import FSProbeCore
extension ComponentType {
    /// The transform types FSProbePipeline provides.
    public static let coreTransforms: [ComponentType] = [.filterTransform, .sampleTransform, .fieldsTransform]
}
