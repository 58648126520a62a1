using ActorLab.Model.Probes;

namespace ActorLab.Actors.Probes;

/// <summary>
/// Runs one probe job to completion on the calling thread (blocking: it fits a probe in native code). Must be
/// safe to call from several probe actors at once.
/// </summary>
public interface IProbeJobExecutor
{
    ProbeResult Execute(ProbeJob job);
}

/// <summary>Runs jobs against activations already captured in this process (read-only, shared by all slots).</summary>
public sealed class ActivationSetExecutor(ActivationSet set, ProbeSweepOptions options, string? outDir) : IProbeJobExecutor
{
    public ProbeResult Execute(ProbeJob job) => ProbeSweep.Run(set, job, options, outDir);
}
