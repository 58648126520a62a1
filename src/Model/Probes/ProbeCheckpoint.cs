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
    public const string SplitsAttachment = "splits.bin";

    public required TrainerCore Core { get; init; }
    public required string CheckpointDir { get; init; }
    public required ProfileDatabase Db { get; init; }
    public required QaTokenizer Tokenizer { get; init; }
    public HeldOutSplits? Splits { get; init; }
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

        var core = TrainerCore.Open(dir, new TrainerOptions { VocabSize = 0, Device = device, Threads = threads, Warn = warn });
        try
        {
            var run = core.Run;
            var db = ProfileParquet.Read(Resolve(run.Profiles, core.RunDir, "profiles"));
            var tok = QaTokenizer.Load(Resolve(run.Tokenizer, core.RunDir, "tokenizer"));
            if (tok.VocabSize != core.Model.Config.VocabSize)
                throw new UserInputException($"checkpoint '{dir}' has vocab {core.Model.Config.VocabSize}, the run's tokenizer has {tok.VocabSize}");
            if (db.Count != run.NProfiles || db.RelationCount != run.Relations)
                throw new UserInputException($"profiles '{run.Profiles}' have N={db.Count}, R={db.RelationCount}, the run was trained on N={run.NProfiles}, R={run.Relations}");
            HeldOutSplits? splits = null;
            if (core.Attachments.TryGetValue(SplitsAttachment, out var bytes))
            {
                using var ms = new MemoryStream(bytes);
                splits = HeldOutSplits.ReadFrom(ms, db);
            }
            else if (run.MaxOrder >= 2)
                splits = HeldOutSplits.Build(db, run.Seed); // what the trainer builds for a fresh run
            core.Optimizer.Eval();
            core.Model.eval();
            return new ProbeCheckpoint { Core = core, CheckpointDir = dir, Db = db, Tokenizer = tok, Splits = splits };
        }
        catch
        {
            core.Dispose();
            throw;
        }
    }

    static string Resolve(string path, string runDir, string what)
    {
        if (File.Exists(path) || Directory.Exists(path)) return path;
        var rel = Path.Combine(runDir, path);
        if (File.Exists(rel) || Directory.Exists(rel)) return rel;
        throw new UserInputException($"the run's {what} '{path}' (from run.json) was not found");
    }

    public void Dispose() => Core.Dispose();
}
