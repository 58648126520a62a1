using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Model.Probes;

/// <summary>
/// A checkpoint opened for probing: the model at its eval point (schedule-free: x) in eval mode, with the run's
/// profiles, tokenizer and held-out splits.
/// </summary>
public sealed class ProbeCheckpoint : IDisposable
{
    /// <summary>Name of the held-out splits attachment the trainer saves in each checkpoint.</summary>
    public const string SplitsAttachment = TrainingSession.SplitsAttachment;

    public required TrainingSession Session { get; init; }
    public required string CheckpointDir { get; init; }
    public TrainerCore Core => Session.Core;
    public ProfileDatabase Db => Session.Db;
    public QaTokenizer Tokenizer => Session.Tokenizer;
    public HeldOutSplits? Splits => Session.Splits;
    public RunConfig Run => Core.Run;
    public string RunDir => Core.RunDir;
    public long Step => Core.Step;

    /// <summary>
    /// Opens <paramref name="path"/>: a checkpoint folder (RUN/checkpoints/step_N) or a run folder (then its
    /// newest valid checkpoint). Profiles and tokenizer come from run.json (paths as written, else relative to
    /// the run folder).
    /// </summary>
    public static ProbeCheckpoint Open(string path, string device = "cpu", int threads = 0, Action<string>? warn = null)
    {
        warn ??= Console.Error.WriteLine;
        if (!Directory.Exists(path)) throw new UserInputException($"checkpoint '{path}' does not exist");
        string dir = path;
        if (Directory.Exists(Path.Combine(path, Checkpoints.Folder)))
        {
            var latest = Checkpoints.List(path);
            if (latest.Count == 0) throw new UserInputException($"run '{path}' has no checkpoints yet");
            dir = Checkpoints.ReadLatestValid(path, warn)?.Dir
                  ?? throw new UserInputException($"run '{path}' has checkpoints but none is valid");
        }
        else if (!File.Exists(Path.Combine(path, "manifest.json")))
            throw new UserInputException($"'{path}' is neither a checkpoint (no manifest.json) nor a run folder (no {Checkpoints.Folder}/)");

        var runDir = Path.GetFullPath(Path.Combine(dir, "..", ".."));
        var run = RunConfig.Load(runDir);
        var db = ProfileParquet.Read(Resolve(run.Profiles, runDir, "profiles"));
        var tok = QaTokenizer.Load(Resolve(run.Tokenizer, runDir, "tokenizer"));
        // The trainer's own loader: checks vocab and N/R against the run, restores the held-out splits.
        var session = TrainingSession.OpenCheckpoint(dir, new TrainerOptions { VocabSize = tok.VocabSize, Device = device, Threads = threads, Warn = warn }, db, tok);
        session.Core.Optimizer.Eval();
        session.Core.Model.eval();
        return new ProbeCheckpoint { Session = session, CheckpointDir = dir };
    }

    static string Resolve(string path, string runDir, string what)
    {
        if (File.Exists(path) || Directory.Exists(path)) return path;
        var rel = Path.Combine(runDir, path);
        if (File.Exists(rel) || Directory.Exists(rel)) return rel;
        throw new UserInputException($"the run's {what} '{path}' (from run.json) was not found");
    }

    public void Dispose() => Session.Dispose();
}
