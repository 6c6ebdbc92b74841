import FSProbeCore
import FSProbeKafka
import FSProbePipeline
import FSProbePipelineFile
import FSProbeSinks
import FSProbeSources

extension ComponentRegistry {
    /// Every component type the fsprobe command offers to pipeline files.
    static let standard = ComponentRegistry(
        [.kernelSource, .kafkaSource]
            + ComponentType.coreTransforms
            + [.stdoutSink, .fileSink, .sqliteSink, .kafkaSink]
    )
}
