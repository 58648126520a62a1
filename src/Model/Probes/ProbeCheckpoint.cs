using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Model.Probes;

/// <summary>
/// A checkpoint opened for probing: the model at its eval point (schedule-free: x) in eval mode, with the run's
/// profiles, tokenizer and held-out splits.
/// </summary>
public sealed class ProbeCheckpoint : IDisposable
{
    /// <summary>Name of the held-out splits attachment the trainer saves in each checkpoint.</summary>
    /// <summary>Name of the held-out splits attachment the trainer saves in each checkpoint.</summary>
    public const string SplitsAttachment = RunSession.SplitsAttachment;

    public required RunSession Session { get; init; }
    public required string CheckpointDir { get; init; }
    public TrainerCore Core => Session.Core;
    public ProfileDatabase Db => Session.Data.Db;
    public QaTokenizer Tokenizer => Session.Data.Tokenizer;
    public HeldOutSplits? Splits => Session.Splits;
    public RunConfig Run => Core.Run;
    public string RunDir => Core.RunDir;
    public long Step => Core.Step;

    /// <summary>
    /// Opens <paramref name="path"/>: a checkpoint folder (RUN/checkpoints/step_N) or a run folder (then its
    /// newest valid checkpoint). Profiles and tokenizer are the run's (<see cref="DatasetStore.ForRun"/>).
    /// </summary>
    public static ProbeCheckpoint Open(string path, string device = "cpu", int threads = 0, Action<string>? warn = null, string? cacheDir = null)
    {
        warn ??= Console.Error.WriteLine;
        var dir = Checkpoints.Resolve(path, warn);

        var runDir = Path.GetFullPath(Path.Combine(dir, "..", ".."));
        var data = DatasetStore.ForRun(RunConfig.Load(runDir), runDir, cacheDir);
        // The trainer's own loader: checks vocab and N/R against the run, restores the held-out splits.
        var session = RunSession.OpenCheckpoint(dir, new TrainerOptions { VocabSize = data.Tokenizer.VocabSize, Device = device, Threads = threads, Warn = warn }, data);
        session.Core.Optimizer.Eval();
        session.Core.Model.eval();
        return new ProbeCheckpoint { Session = session, CheckpointDir = dir };
    }

    public void Dispose() => Session.Dispose();
}
