using ActorLab.Model.Storage;

namespace ActorLab.Model.Training;

/// <summary>Progress of a run, after every step.</summary>
public readonly record struct TrainProgress(StepResult Last, long MaxSteps, double StepsPerSecond, double TokensPerSecond, TimeSpan Eta, double DataWaitFraction);

/// <summary>
/// What a <see cref="RunSession"/> tells its driver as it goes: the CLI prints it, the trainer actor forwards it to
/// the coordinator. Called on the session's thread; every method is optional.
/// </summary>
public interface IRunObserver
{
    void Started(long step, string? resumedFrom) { }
    void Stepped(TrainProgress progress) { }
    void Evaluated(EvalReport report) { }
    void Checkpointed(CheckpointRef checkpoint, string dir, double trainLoss) { }
}

/// <summary>How a run session ended.</summary>
public enum RunEnd { Completed, Suspended, Cancelled }

/// <summary>
/// The end of a run session: at which step, why, the last checkpoint, and (completed runs) the SHA-256 of the
/// eval results this replica wrote, so whoever publishes them can check they are the ones the journal accepted.
/// </summary>
public sealed record RunOutcome(RunEnd End, long Step, string Reason, CheckpointRef? LastCheckpoint, string? ResultsSha256);
